"""The operator's web console: admins sign in with two-step sign-in, find a business,
suspend and restore it; every change is in the audit log. Pages are HTML forms."""

from __future__ import annotations

import io
import re

import pytest

from sync.cli import main
from tests.server.api import PASSWORD, buy_card, create_deal, make_admin, open_shop, sign_up
from tests.server.conftest import url_of
from tests.server.console import ConsoleAdmin, csrf_of, new_admin, signed_in_admin

PAGES = ["/console/", "/console/businesses", "/console/audit"]


def listed(client, q: str = "") -> list[str]:
    """The names public search shows."""
    page = client.get("/api/v1/businesses", params={"q": q, "limit": 100})
    assert page.status_code == 200, page.text
    return [b["name"] for b in page.json()["items"]]


def deal_businesses(client) -> list[str]:
    page = client.get("/api/v1/deals").json()
    items = page["items"] if isinstance(page, dict) else page
    return [d["business_name"] for d in items]


# -- create-admin ---------------------------------------------------------------------------


@pytest.fixture
def cli_env(settings, engine, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", url_of(engine))  # the database `client` uses
    monkeypatch.setenv("TILLPOINT_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("TILLPOINT_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("TILLPOINT_ARGON2_MEMORY_KIB", "64")
    monkeypatch.setenv("TILLPOINT_PUBLIC_URL", "https://ops.example.com")


def create_admin(monkeypatch, email: str, password: str = PASSWORD) -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    return main(["server", "create-admin", email, "--password-stdin"])


def test_create_admin_prints_a_secret_whose_first_code_turns_two_step_sign_in_on(
    client, cli_env, monkeypatch, capsys
):
    assert create_admin(monkeypatch, "Ops@Example.com") == 0
    out = capsys.readouterr().out
    assert "ops@example.com created" in out
    assert "https://ops.example.com/console" in out
    secret = re.search(r"with this secret: ([A-Z2-7]+)", out)
    assert secret is not None, out
    admin = ConsoleAdmin(client, "ops@example.com", secret.group(1))
    shown = admin.sign_in()
    assert shown.status_code == 200, shown.text
    assert "Two-step sign-in is on" in shown.text
    assert len(re.findall(r"<code>[a-z0-9]{5}-[a-z0-9]{5}</code>", shown.text)) == 10
    assert client.get("/console/businesses").status_code == 200
    # The API now asks admins for the second step too.
    api = client.post("/api/v1/auth/login", json={"email": admin.email, "password": PASSWORD})
    assert api.json()["type"].endswith("/mfa-required")


def test_create_admin_names_no_address_it_does_not_know(client, cli_env, monkeypatch, capsys):
    """The server may run on any port or behind a proxy: without TILLPOINT_PUBLIC_URL the
    command says where in words, and never a guessed http://127.0.0.1:8000."""
    monkeypatch.delenv("TILLPOINT_PUBLIC_URL")
    assert create_admin(monkeypatch, "ops@example.com") == 0
    out = capsys.readouterr().out
    assert "Sign in at <your server>/console with the email" in out
    assert "<your server> is the address the server is reached at" in out
    assert "127.0.0.1" not in out


def test_create_admin_promotes_a_customer_and_keeps_their_password(
    client, cli_env, monkeypatch, capsys
):
    customer = sign_up(client, "customer")
    assert create_admin(monkeypatch, customer.email, password="") == 0  # no password asked
    assert "is now an admin (password unchanged)" in capsys.readouterr().out
    me = customer.get("/api/v1/me")
    assert me.json()["role"] == "admin"


def test_create_admin_refuses_a_vendors_account_and_a_short_password(
    client, shop, cli_env, monkeypatch, capsys
):
    assert create_admin(monkeypatch, shop.owner.email) == 2
    assert "a vendor's account" in capsys.readouterr().err
    assert create_admin(monkeypatch, "new-ops@example.com", password="short") == 2
    assert "10 to 200 characters" in capsys.readouterr().err
    login = client.post(
        "/api/v1/auth/login", json={"email": "new-ops@example.com", "password": "short"}
    )
    assert login.status_code == 401  # nothing was created


# -- signing in ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
def test_pages_send_whoever_has_no_console_session_to_sign_in(client, path):
    admin_api = make_admin(client)  # an API access token is not a console session
    for headers in ({}, admin_api.headers):
        response = client.get(path, headers=headers, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == "/console/sign-in"


def test_a_wrong_code_or_password_signs_no_one_in(client):
    admin = new_admin(client)
    assert admin.sign_in(code="000000").status_code == 401
    wrong = admin.sign_in(password="not the password")
    assert wrong.status_code == 401
    assert "The email, password or code is wrong" in wrong.text
    assert client.get("/console/", follow_redirects=False).status_code == 303


def test_a_customer_with_the_right_password_is_refused(client):
    customer = sign_up(client, "customer")
    page = client.get("/console/sign-in")
    refused = client.post(
        "/console/sign-in",
        data={
            "csrf": csrf_of(page.text),
            "email": customer.email,
            "password": PASSWORD,
            "code": "123456",
        },
        follow_redirects=False,
    )
    assert refused.status_code == 401
    assert "for Tillpoint&#39;s operators" in refused.text
    # An HTML page: the command is named as text, not in Markdown's backticks.
    assert "made on the server with “tillpoint server create-admin”" in refused.text
    assert "`" not in refused.text
    assert client.get("/console/", follow_redirects=False).status_code == 303


def test_the_session_cookie_is_http_only_strict_and_only_for_the_console(client):
    admin = new_admin(client)
    response = admin.sign_in()
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("tillpoint_console=")
    )
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/console" in cookie
    assert "Secure" not in cookie  # plain http here; https sets it


@pytest.mark.parametrize(
    ("public_url", "base_url"),
    [("http://127.0.0.1:8000", "https://console.test"), ("https://ops.test", "http://api:8000")],
    ids=["page over https", "behind a proxy ending TLS"],
)
def test_the_cookies_are_secure_behind_https(settings, engine, public_url, base_url):
    from fastapi.testclient import TestClient

    from server.app import create_app

    app = create_app(settings.model_copy(update={"public_url": public_url}), engine=engine)
    with TestClient(app, base_url=base_url) as c:
        response = new_admin(c).sign_in()
    assert all("Secure" in cookie for cookie in response.headers.get_list("set-cookie"))


def test_signing_out_ends_the_session_even_for_a_copied_cookie(client):
    admin = signed_in_admin(client)
    cookie = client.cookies.get("tillpoint_console", path="/console")
    assert admin.submit("/console/", "/console/sign-out").status_code == 303
    client.cookies.set("tillpoint_console", cookie, path="/console")
    assert client.get("/console/", follow_redirects=False).status_code == 303


def test_a_form_without_the_csrf_token_changes_nothing(client, shop):
    admin = signed_in_admin(client)
    for token in ("", "forged"):
        response = client.post(
            f"/console/businesses/{shop.business_id}/suspend",
            data={"csrf": token, "reason": "spam"},
            follow_redirects=False,
        )
        assert response.status_code == 403
        assert "That form has expired" in response.text
    assert "Corner Café" in listed(client)
    assert admin.client.get("/console/audit").text.count("business suspended") == 0


# -- businesses ------------------------------------------------------------------------------


def test_an_admin_finds_a_business_with_folded_search(client, shop):
    open_shop(client, "Bakery Brown")
    signed_in_admin(client)
    page = client.get("/console/businesses", params={"q": "CÓRNER"})
    assert "Corner Café" in page.text
    assert "Bakery Brown" not in page.text


def test_suspending_hides_a_business_from_search_and_deals_and_stops_sales_until_restored(
    client, shop
):
    assert create_deal(shop).status_code == 201
    customer = sign_up(client, "customer")
    admin = signed_in_admin(client)
    page = f"/console/businesses/{shop.business_id}"

    done = admin.submit(page, f"{page}/suspend", reason="Selling counterfeit vouchers")
    assert done.status_code == 303
    shown = client.get(done.headers["location"])
    assert "Suspended. It no longer appears in public search" in shown.text
    assert "Corner Café" not in listed(client, "cafe")
    assert "Corner Café" not in deal_businesses(client)
    assert buy_card(customer, shop, 1_000).status_code == 409
    found = client.get("/console/businesses", params={"q": "cafe"}).text
    assert found.count("Hidden</span> — suspended by an operator") == 1

    assert admin.submit(page, f"{page}/restore", reason="Checked: genuine").status_code == 303
    assert "Corner Café" in listed(client, "cafe")
    assert "Corner Café" in deal_businesses(client)
    assert buy_card(customer, shop, 1_000).status_code == 201

    log = client.get("/console/audit").text
    assert log.index("business restored") < log.index("business suspended")  # latest first
    assert "Selling counterfeit vouchers" in log
    assert "Checked: genuine" in log
    assert log.count(f"<td>{admin.email}</td>") == 2
    assert client.get(page).text.count("Selling counterfeit vouchers") == 1


def test_a_suspension_needs_a_reason_and_happens_once(client, shop):
    admin = signed_in_admin(client)
    page = f"/console/businesses/{shop.business_id}"
    missing = admin.submit(page, f"{page}/suspend", reason="   ")
    assert missing.status_code == 422
    assert "Say why" in missing.text
    assert "Corner Café" in listed(client)
    assert admin.submit(page, f"{page}/suspend", reason="fraud").status_code == 303
    # A second tab's form, sent after the first: refused, and said so.
    again = client.post(
        f"{page}/suspend", data={"csrf": csrf_of(client.get(page).text), "reason": "again"}
    )
    assert again.status_code == 409
    assert client.get("/console/audit").text.count("business suspended") == 1


def test_a_business_its_owner_closed_shows_as_closed_and_is_neither_suspended_nor_restored(
    client, shop
):
    admin = signed_in_admin(client)
    page = f"/console/businesses/{shop.business_id}"
    assert admin.submit(page, f"{page}/suspend", reason="Checking a complaint").status_code == 303
    assert shop.owner.delete(f"/api/v1/businesses/{shop.business_id}").status_code == 204

    shown = client.get(page).text
    assert "Closed by its owner</span> on " in shown
    assert re.search(r"<dt>Subscription</dt>\s*<dd>\w+, closed</dd>", shown), shown
    assert "active" not in shown
    assert "Listed since" not in shown
    assert "Not suspended" not in shown
    assert f'action="{page}/suspend"' not in shown
    assert f'action="{page}/restore"' not in shown
    assert "cannot be suspended or restored" in shown
    found = client.get("/console/businesses", params={"q": "cafe"}).text
    assert "Closed</span> by its owner on " in found
    assert "Listed" not in found

    # A form from a tab opened before it closed: refused in words, and nothing changes.
    for action in ("restore", "suspend"):
        refused = client.post(
            f"{page}/{action}", data={"csrf": csrf_of(shown), "reason": "from an old tab"}
        )
        assert refused.status_code == 409
        assert "Corner Café was closed by its owner on " in refused.text
        assert "Nothing changed." in refused.text
    log = client.get("/console/audit").text
    assert log.count("business suspended") == 1
    assert "business restored" not in log
    assert "from an old tab" not in log
    assert "Checking a complaint" in client.get(page).text  # the suspension stays as it was


def test_an_unknown_business_is_a_plain_not_found_page(client):
    admin = signed_in_admin(client)
    assert client.get("/console/businesses/nosuchbusin").status_code == 404
    refused = admin.submit("/console/", "/console/businesses/nosuchbusin/suspend", reason="x")
    assert refused.status_code == 404


# -- lists -----------------------------------------------------------------------------------


def test_the_lists_show_what_happened_and_find_by_their_search(client, shop):
    customer = sign_up(client, "customer")
    card = buy_card(customer, shop, 1_000).json()
    assert create_deal(shop).status_code == 201
    rate = make_admin(client).post(
        "/api/v1/admin/exchange-rates",
        [{"currency": "EUR", "rate": "1.1642", "valid_from": "2026-11-01"}],
    )
    assert rate.status_code == 200, rate.text
    signed_in_admin(client)

    def page(name: str, q: str = "") -> str:
        response = client.get(f"/console/lists/{name}", params={"q": q})
        assert response.status_code == 200, response.text
        return str(response.text)

    assert customer.email in page("users")
    assert customer.email in page("users", customer.email.upper())
    assert customer.email not in page("users", "nobody@example.org")
    cards = page("cards", customer.email)
    assert card["id"] in cards
    assert "£10.00" in cards
    assert "None matching" in page("cards", "Nowhere Bakery")
    assert card["id"] in page("cards", "corner cafe")  # by the business, folded
    assert "Two coffees for one" in page("deals", "coffees")
    assert "£3.40" in page("deals")
    payments = page("payments")
    assert "purchase" in payments
    assert "£10.00" in payments
    assert "1 GBP = 1.1642 EUR" in page("exchange-rates", "eur")
    assert "None." in page("incidents")
    assert "None." in page("invoices")
    assert client.get("/console/lists/secrets").status_code == 404  # no such list


def test_an_admin_resolves_a_fraud_review_once_and_the_audit_log_says_why(client, shop):
    from tests.server.test_fraud import OTHER_CARD, add_rule

    api_admin = make_admin(client)
    add_rule(
        api_admin,
        name="many payment cards",
        subject="customer",
        event="purchase",
        counting="distinct_payment_cards",
        window_seconds=86_400,
        max_count=1,
        action="review",
    )
    customer = sign_up(client, "customer")
    assert buy_card(customer, shop, 1_000).status_code == 201
    assert buy_card(customer, shop, 1_000, card_number=OTHER_CARD).status_code == 201
    [review] = api_admin.get("/api/v1/admin/fraud/reviews").json()["items"]
    admin = signed_in_admin(client)
    lists = "/console/lists/fraud-reviews"
    assert f"Resolve review {review['id']}" in client.get(lists).text

    resolve = f"/console/fraud-reviews/{review['id']}/resolve"
    done = admin.submit(lists, resolve, outcome="cleared", reason="A couple sharing an account")
    assert done.status_code == 303
    [after] = api_admin.get("/api/v1/admin/fraud/reviews").json()["items"]
    assert (after["status"], after["resolution"]) == ("cleared", "A couple sharing an account")
    assert f"Resolve review {review['id']}" not in client.get(lists).text
    again = admin.submit("/console/audit", resolve, outcome="confirmed", reason="changed my mind")
    assert again.status_code == 409
    assert "cleared already" in again.text
    log = client.get("/console/audit").text
    assert log.count("fraud review resolved") == 1
    assert "cleared: A couple sharing an account" in log


# -- the dashboard ---------------------------------------------------------------------------


def test_the_dashboard_counts_deals_sales_redemptions_and_each_deals_views(client, shop):
    from datetime import UTC, datetime

    from tests.server.api import buy_voucher, new_key

    deal = create_deal(shop, title="Cake and coffee").json()
    customer = sign_up(client, "customer")
    for _ in range(4):
        assert client.get(f"/api/v1/deals/{deal['id']}").status_code == 200
    vouchers = [buy_voucher(customer, deal["id"]).json() for _ in range(2)]
    used = shop.cashier.post(
        f"/api/v1/businesses/{shop.business_id}/voucher-redemptions",
        {"token": vouchers[0]["token"]},
        key=new_key(),
    )
    assert used.status_code == 200, used.text
    card = buy_card(customer, shop, 2_500).json()
    assert shop.redeem(1_000, card_id=card["id"]).status_code == 200
    signed_in_admin(client)

    home = client.get("/console/").text
    assert "Deals on sale now: 1" in home
    today = datetime.now(UTC).date().isoformat()
    # Two vouchers at £3.40 and a £25 card sold; a voucher (£3.40) and £10 redeemed.
    row = re.search(rf"<tr><td>{today}</td><td>GBP</td>(.*?)</tr>", home)
    assert row is not None, home
    cells = re.findall(r'<td class="number">([^<]*)</td>', row.group(1))
    assert cells == ["3", "£31.80", "2", "£13.40"]
    effectiveness = home[home.index("Deal effectiveness") :]
    funnel = re.search(r"<tr><td>Cake and coffee</td><td>Corner Café</td>(.*?)</tr>", effectiveness)
    assert funnel is not None, home
    assert re.findall(r'<td class="number">([^<]*)</td>', funnel.group(1)) == [
        "4",
        "2",
        "50%",
        "1",
        "50%",
    ]
    busiest = re.search(r"Corner Café</a></td><td class=\"number\">(\d+)</td>", home)
    assert busiest is not None, home
    assert busiest.group(1) == "2"


def test_a_list_pages_through_everything_once(client):
    from server.accounts.models import Role, User

    with client.app.state.sessions() as session:
        for n in range(30):
            session.add(
                User(email=f"page-{n:02}@example.com", password_hash="-", role=Role.CUSTOMER)
            )
        session.commit()
    signed_in_admin(client)
    seen: list[str] = []
    url: str | None = "/console/lists/users?q=page-"
    while url is not None:
        text = client.get(url).text
        seen += re.findall(r"<td>(page-\d\d@example\.com)</td>", text)
        found = re.search(r'<a href="([^"]+)" rel="next">', text)
        url = found.group(1).replace("&amp;", "&") if found else None
    assert sorted(seen) == [f"page-{n:02}@example.com" for n in range(30)]
    assert "30 in all, showing 26–30." in text


@pytest.mark.parametrize("path", ["/console/businesses", "/console/lists/users"])
def test_a_search_longer_than_the_box_takes_looks_for_its_start_and_says_so(client, shop, path):
    signed_in_admin(client)
    page = client.get(path)
    assert re.search(r'<input id="q"[^>]*maxlength="100"', page.text)
    long = client.get(path, params={"q": "Corner" + " " * 94 + "x" * 200})
    assert long.status_code == 200
    assert long.headers["content-type"].startswith("text/html")
    assert (
        "A search looks for at most 100 characters: this one looked for its first 100." in long.text
    )
    assert f'value="Corner{" " * 94}"' in long.text  # what it looked for
    if path == "/console/businesses":
        assert "Corner Café" in long.text


def test_a_console_sign_in_from_a_new_device_is_screened_and_told_like_the_apps(client):
    from sqlalchemy import select

    from server.accounts.models import AccountSession
    from server.notifications import Notification

    admin = new_admin(client)
    first = admin.sign_in()
    recovery = re.findall(r"<code>([a-z0-9]{5}-[a-z0-9]{5})</code>", first.text)
    client.cookies.clear()
    client.headers["User-Agent"] = "Firefox on the night shift's laptop"
    typed = recovery[0].replace("-", "").upper()  # as people type them
    assert admin.sign_in(code=typed).status_code == 303  # a recovery code works too
    assert admin.sign_in(code=recovery[0]).status_code == 401  # once
    with client.app.state.sessions() as session:
        agents = session.scalars(select(AccountSession.user_agent)).all()
        told = session.scalars(
            select(Notification.body_text).where(Notification.kind == "new_device")
        ).all()
    assert "Firefox on the night shift's laptop" in agents
    assert any("Firefox on the night shift's laptop" in body for body in told)


# -- hostile form fields -----------------------------------------------------------------------


@pytest.mark.parametrize("text", ["a\x00b", "\x1b[2J"])
def test_control_characters_in_a_form_field_are_refused_and_change_nothing(client, shop, text):
    """Form fields are text as JSON fields are: a NUL (which PostgreSQL refuses) or another
    control character is a 4xx, never a 500, and nothing is stored."""
    admin = signed_in_admin(client)
    page = f"/console/businesses/{shop.business_id}"
    refused = admin.submit(page, f"{page}/suspend", reason=f"spam {text}")
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("text/html")  # the page, saying why
    assert "Reason: remove the invisible character after" in refused.text
    assert "Corner Café" in listed(client)
    assert client.get("/console/audit").text.count("business suspended") == 0

    stranger = ConsoleAdmin(client, f"ops{text}@example.com", admin.secret)
    for signed in (
        stranger.sign_in(),
        admin.sign_in(password=PASSWORD + text),
        admin.sign_in(code=f"1234{text}"),
    ):
        assert signed.status_code == 422, signed.text
        assert signed.headers["content-type"].startswith("text/html")
        assert "remove the invisible character" in signed.text
        assert '<form method="post" action="/console/sign-in"' in signed.text


def test_a_reason_longer_than_the_box_takes_is_said_on_the_page(client, shop):
    admin = signed_in_admin(client)
    page = f"/console/businesses/{shop.business_id}"
    refused = admin.submit(page, f"{page}/suspend", reason="spam " * 400)
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("text/html")
    # Counted as it would be kept: on one line, the spaces between the words.
    assert "Reason: shorten it to at most 500 characters (it has 1999)." in refused.text
    assert client.get("/console/audit").text.count("business suspended") == 0


def test_a_reason_of_exactly_the_most_characters_is_taken_and_one_more_is_counted(client, shop):
    admin = signed_in_admin(client)
    page = f"/console/businesses/{shop.business_id}"
    refused = admin.submit(page, f"{page}/suspend", reason="x" * 501)
    assert refused.status_code == 422
    assert "Reason: shorten it to at most 500 characters (it has 501)." in refused.text
    assert admin.submit(page, f"{page}/suspend", reason="x" * 500).status_code == 303
    assert client.get("/console/audit").text.count("business suspended") == 1
