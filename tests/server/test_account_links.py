"""The account emails' links when no app address is set: they open this server's pages, which
confirm the email or set a new password in a browser without scripts — through the API's own
service, throttle and session ending — and say in words what went wrong and what to do."""

from __future__ import annotations

import re
from email.message import EmailMessage as Message
from html import unescape
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from server.accounts.schemas import ResetConfirm
from server.accounts.verification import CODE_TRIES_PER_MINUTE, Links
from server.notifications import NotificationWorker
from server.web.account_pages.forms import new_password_problems
from tests.server.api import PASSWORD, Actor, log_in, sign_up
from tests.server.console import csrf_of
from tests.server.mailbox import Sink, mailing_client, notification_worker  # noqa: F401 - fixtures
from tests.server.test_shop import sign_in as shop_sign_in

NEW_PASSWORD = "a brand new password"
LINK = re.compile(r"open this link: (\S+)")
CONFIRM = "Confirm your email for Tillpoint"
RESET = "Reset your Tillpoint password"


def emailed_link(worker: NotificationWorker, sink: Sink, to: str, subject: str) -> str:
    """The link in the newest `subject` email to `to`, as the mail server received it, as a
    path and query on this server."""
    worker.run_once()
    sent: list[Message] = [m for m in sink.messages if (m["X-Rcpt"], m["Subject"]) == (to, subject)]
    assert sent, [(m["X-Rcpt"], m["Subject"]) for m in sink.messages]
    body = sent[-1].get_body(preferencelist=("plain",))
    assert body is not None
    found = LINK.search(str(body.get_content()))
    assert found is not None, body.get_content()
    url = urlsplit(found[1])
    assert f"{url.scheme}://{url.netloc}" == "http://127.0.0.1:8000"  # TILLPOINT_PUBLIC_URL
    return f"{url.path}?{url.query}"


def press(client: TestClient, page_url: str, **fields: str):
    """Open a page and send its form with `fields` (and its CSRF token and code)."""
    page = client.get(page_url)
    assert page.status_code == 200, page.text
    code = re.search(r'name="code" value="([^"]*)"', page.text)
    assert code is not None, page.text
    data = {"csrf": csrf_of(page.text), "code": unescape(code[1]), **fields}
    return client.post(urlsplit(page_url).path, data=data, follow_redirects=False)


def words(page) -> str:
    """A page's text as read: entities decoded, lines joined."""
    return " ".join(unescape(page.text).split())


def verified(actor: Actor) -> bool:
    return bool(actor.get("/api/v1/me").json()["email_verified"])


def ask_reset(client: TestClient, email: str) -> None:
    asked = client.post("/api/v1/auth/password-reset", json={"email": email})
    assert asked.status_code == 202, asked.text


def test_the_links_open_the_app_when_set_else_the_servers_account_pages():
    server = Links("", "https://tillpoint.example.com/")
    assert server.verify("ABCD-EFGH-JKMN") == (
        "https://tillpoint.example.com/account/verify-email?code=ABCD-EFGH-JKMN"
    )
    assert server.reset("ABCD-EFGH-JKMN") == (
        "https://tillpoint.example.com/account/reset-password?code=ABCD-EFGH-JKMN"
    )
    app = Links("https://app.example.com/", "https://tillpoint.example.com")
    assert (
        app.verify("ABCD-EFGH-JKMN") == "https://app.example.com/verify-email?code=ABCD-EFGH-JKMN"
    )
    assert app.reset("ABCD-EFGH-JKMN") == (
        "https://app.example.com/reset-password?code=ABCD-EFGH-JKMN"
    )


def test_the_confirmation_link_opens_a_page_whose_button_confirms_the_email(
    client, worker, sink: Sink
):
    pat = sign_up(client)
    link = emailed_link(worker, sink, pat.email, CONFIRM)
    assert link.startswith("/account/verify-email?code=")
    for _ in range(2):  # a mail scanner opening the link first uses nothing up
        page = client.get(link)
        assert page.status_code == 200  # a page, not the API's JSON 404
        assert page.headers["content-type"].startswith("text/html")
        assert page.headers["cache-control"] == "no-store"
        assert "default-src 'none'" in page.headers["content-security-policy"]
        assert "Confirm my email" in page.text
    assert not verified(pat)

    confirmed = press(client, link)
    assert confirmed.status_code == 303, confirmed.text
    assert confirmed.headers["location"] == "/account/email-confirmed"
    done = client.get(confirmed.headers["location"])
    assert "Your email is confirmed" in words(done)
    assert "go back to the Tillpoint app" in words(done)
    assert verified(pat)


def test_a_used_or_wrong_confirmation_link_says_so_and_how_to_get_a_new_one(
    client, worker, sink: Sink
):
    pat = sign_up(client)
    link = emailed_link(worker, sink, pat.email, CONFIRM)
    assert press(client, link).status_code == 303
    for url in (link, "/account/verify-email?code=WRON-GCOD-E234"):
        again = press(client, url)
        assert again.status_code == 400
        text = words(again)
        assert "The link is wrong, used already, or older than 48 hours." in text
        assert "choose <strong>Account</strong>, then <strong>Confirm email</strong>" in text


@pytest.mark.parametrize("page", ["verify-email", "reset-password"])
@pytest.mark.parametrize("query", ["", "?code=", "?code=AB%2ACD", f"?code={'A' * 41}"])
def test_a_link_without_its_whole_code_says_so(client, page, query):
    opened = client.get(f"/account/{page}{query}")
    assert opened.status_code == 400
    assert "The link is not whole" in words(opened)
    assert "Get a new link" in words(opened)


def test_a_form_without_the_pages_csrf_token_changes_nothing(client, worker, sink: Sink):
    pat = sign_up(client)
    link = emailed_link(worker, sink, pat.email, CONFIRM)
    code = link.split("code=", 1)[1]
    refused = client.post("/account/verify-email", data={"code": code, "csrf": "forged"})
    assert refused.status_code == 403
    assert "That form has expired" in words(refused)
    assert not verified(pat)
    assert press(client, link).status_code == 303  # the code was not used up


def test_the_reset_link_sets_a_new_password_and_ends_every_session(
    client, worker, sink: Sink, sessions
):
    pat = sign_up(client)
    assert shop_sign_in(client, pat.email).status_code == 303  # a browser's shop session
    ask_reset(client, pat.email)
    link = emailed_link(worker, sink, pat.email, RESET)
    assert link.startswith("/account/reset-password?code=")
    form = client.get(link)
    assert form.status_code == 200
    assert 'autocomplete="new-password"' in form.text
    assert pat.get("/api/v1/me").status_code == 200  # opening it ends nothing

    done = press(client, link, password=NEW_PASSWORD, again=NEW_PASSWORD)
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/account/password-changed"
    said = client.get(done.headers["location"])
    assert "Your password is changed" in words(said)
    assert 'href="/shop/sign-in"' in said.text

    assert pat.get("/api/v1/me").status_code == 401  # its access token denied at once
    assert client.get("/shop/my-cards", follow_redirects=False).status_code == 303  # signed out
    old = client.post("/api/v1/auth/login", json={"email": pat.email, "password": PASSWORD})
    assert old.status_code == 401
    assert log_in(client, pat.email, NEW_PASSWORD).get("/api/v1/me").json()["email_verified"]
    told = emailed_link_subjects(worker, sink, pat.email)
    assert "Your Tillpoint password was changed" in told

    again = press(client, link, password="yet another password", again="yet another password")
    assert again.status_code == 400
    text = words(again)
    assert "The link is wrong, used already, or older than 30 minutes." in text
    assert "choose <strong>Forgot password</strong>" in text


def test_a_reset_on_the_page_forgets_the_accounts_wrong_sign_in_tries(client, worker, sink):
    pat = sign_up(client)
    client.app.state.login_throttle.first_wait = 600  # a wait that outlasts the test
    wrong = {"current_password": "not the password", "new_password": "whatever it is"}
    for _ in range(client.app.state.settings.login_free_failures + 1):
        assert pat.post("/api/v1/auth/password", wrong).status_code == 403
    held = client.post("/api/v1/auth/login", json={"email": pat.email, "password": PASSWORD})
    assert held.status_code == 429
    ask_reset(client, pat.email)
    link = emailed_link(worker, sink, pat.email, RESET)
    assert press(client, link, password=NEW_PASSWORD, again=NEW_PASSWORD).status_code == 303
    log_in(client, pat.email, NEW_PASSWORD)  # at once, as after the API's reset


def emailed_link_subjects(worker: NotificationWorker, sink: Sink, to: str) -> list[str]:
    worker.run_once()
    return [str(m["Subject"]) for m in sink.messages if m["X-Rcpt"] == to]


@pytest.mark.parametrize(
    ("password", "again", "field", "said"),
    [
        (
            "short",
            "short",
            "password",
            "New password: make it at least 10 characters long (it has 5).",
        ),
        ("", "", "password", "New password: make it at least 10 characters long."),
        ("a good long one", "a good long two", "again", "type the same password as above"),
        ("tab\there is bad", "tab\there is bad", "password", "remove the invisible character"),
        ("x" * 201, "x" * 201, "password", "shorten it to at most 200 characters (it has 201)"),
    ],
)
def test_a_new_password_the_api_would_refuse_is_said_at_its_field(
    client, worker, sink: Sink, password, again, field, said
):
    pat = sign_up(client)
    ask_reset(client, pat.email)
    link = emailed_link(worker, sink, pat.email, RESET)
    refused = press(client, link, password=password, again=again)
    assert refused.status_code == 422
    assert said in words(refused)
    assert f'id="{field}-error"' in refused.text
    assert re.search(rf'id="{field}"[^>]*aria-invalid="true"', refused.text)
    assert f'value="{password}"' not in refused.text  # never echoed back
    # Nothing changed, nothing used up: the same link still sets a password.
    assert pat.get("/api/v1/me").status_code == 200
    assert press(client, link, password=NEW_PASSWORD, again=NEW_PASSWORD).status_code == 303


@pytest.mark.parametrize(
    "password",
    ["", "123456789", "1234567890", "ten chars!", "x" * 200, "x" * 201, "new\nline password"],
)
def test_the_page_takes_exactly_the_passwords_the_api_takes(password):
    try:
        ResetConfirm(code="ABCD-EFGH-JKMN", new_password=password)
        api_takes = True
    except ValidationError:
        api_takes = False
    assert (new_password_problems(password, password) == {}) is api_takes


def test_code_tries_on_the_pages_count_with_the_apis(client):
    wrong = "/account/verify-email?code=WRON-GCOD-E234"
    for _ in range(CODE_TRIES_PER_MINUTE // 2):
        assert press(client, wrong).status_code == 400
    for _ in range(CODE_TRIES_PER_MINUTE - CODE_TRIES_PER_MINUTE // 2):
        api = client.post("/api/v1/auth/verify-email", json={"code": "WRON-GCOD-E234"})
        assert api.status_code == 400
    limited = press(client, wrong)
    assert limited.status_code == 429
    assert "Too many code attempts: wait" in words(limited)
    reset = press(
        client,
        "/account/reset-password?code=WRON-GCOD-E234",
        password=NEW_PASSWORD,
        again=NEW_PASSWORD,
    )
    assert reset.status_code == 429
    assert "Too many code attempts: wait" in words(reset)


@pytest.mark.parametrize("path", ["/account", "/account/", "/account/verify", "/account/x/y"])
def test_other_addresses_under_account_are_pages_in_words(client, path):
    page = client.get(path)
    assert page.status_code == 404
    assert "There is no page at this address" in words(page)
    assert page.headers["cache-control"] == "no-store"


def test_the_pages_style_sheet_is_served(client):
    sheet = client.get("/account/static/account.css")
    assert sheet.status_code == 200
    assert sheet.headers["content-type"].startswith("text/css")
