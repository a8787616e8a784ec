"""Console addresses typed or edited by hand: a page that does not exist, a list's page
that does not, parameters a page cannot take. Each gets a console page in words, with the
status the API would give, and never the API's JSON."""

from __future__ import annotations

import re

import pytest

from tests.server.api import buy_card, sign_up
from tests.server.console import csrf_of, signed_in_admin


def main_of(html: str) -> str:
    """The page's own content (without the menu), its tags out and its spaces joined."""
    found = re.search(r"<main[^>]*>(.*)</main>", html, re.S)
    assert found is not None, html
    text = re.sub(r"<[^>]+>", " ", found.group(1)).replace("&#39;", "'").replace("&amp;", "&")
    return " ".join(text.split())


def assert_a_console_page(response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert '"type"' not in response.text
    assert "see /docs" not in response.text
    return main_of(response.text)


@pytest.mark.parametrize(
    ("path", "said"),
    [
        ("/console/nothing", "There is no page at /console/nothing in the console"),
        ("/console/audit/1", "There is no page at /console/audit/1 in the console"),
        ("/console/lists/nothing", "There is no page at /console/lists/nothing in the console"),
    ],
)
def test_an_address_with_no_page_is_the_consoles_not_found_page(client, path, said):
    admin = signed_in_admin(client)
    text = assert_a_console_page(client.get(path), 404)
    assert "No such page" in text
    assert said in text
    assert "Go to the console's home page" in text
    assert admin.email in client.get(path).text  # the menu, to go on from


def test_a_list_page_with_a_start_it_cannot_take_says_so_and_links_its_first_page(client):
    signed_in_admin(client)
    for offset in ("-1", "abc", "", "0x10", "2000000"):
        response = client.get("/console/lists/payments", params={"q": "a b", "offset": offset})
        text = assert_a_console_page(response, 422)
        assert "That address is not right" in text
        assert f"The address asks for the page at “offset={offset}”, which no list has" in text
        assert "from 0 to 1,000,000" in text
        assert '<a href="/console/lists/payments?q=a+b">Go to the first page</a>' in response.text


@pytest.mark.parametrize(
    ("path", "said", "link"),
    [
        (
            "/console/lists/users?q=%00",
            "The address's “q” has an invisible character in it",
            "/console/lists/users",
        ),
        (
            "/console/businesses/%00",
            "The address has an invisible character in it",
            "/console/",
        ),
    ],
)
def test_an_address_with_an_invisible_character_is_said_in_words(client, path, said, link):
    """Refused before any page sees it (`server.limits`), and still said on a page."""
    signed_in_admin(client)
    response = client.get(path)
    text = assert_a_console_page(response, 422)
    assert said in text
    assert f'<a href="{link}">' in response.text


def test_an_address_for_a_forms_button_says_so_and_keeps_allow(client):
    signed_in_admin(client)
    response = client.get("/console/sign-out")
    text = assert_a_console_page(response, 405)
    assert "/console/sign-out is where a form's button sends it" in text
    assert response.headers["allow"] == "POST"


@pytest.mark.parametrize(("method", "path"), [("PUT", "/console/audit"), ("POST", "/console/")])
def test_an_address_sent_what_no_page_of_it_takes_says_so_and_keeps_allow(client, method, path):
    signed_in_admin(client)
    response = client.request(method, path)
    text = assert_a_console_page(response, 405)
    assert "That address cannot take this" in text
    assert f"{path} does not take what was sent to it (a {method} request)" in text
    assert "where a form's button sends it" not in text
    assert "Open the page again from the console's menu" in text
    assert response.headers["allow"] == "GET"


def test_a_form_sent_to_an_action_that_does_not_exist_changes_nothing(client, shop):
    admin = signed_in_admin(client)
    page = f"/console/businesses/{shop.business_id}"
    response = admin.submit(page, f"{page}/delete", reason="spam")
    assert "No such page" in assert_a_console_page(response, 404)
    assert "No admin has changed anything here yet." in client.get("/console/audit").text


def test_a_form_too_large_for_the_server_is_said_in_words(client):
    page = client.get("/console/sign-in")
    response = client.post(
        "/console/sign-in", data={"csrf": csrf_of(page.text), "email": "x" * 2_000_000}
    )
    text = assert_a_console_page(response, 413)
    assert "That form sent too much" in text
    assert "Go back and send less" in text


def test_a_visitor_who_is_not_signed_in_gets_the_page_without_the_menu(client):
    response = client.get("/console/nothing")
    assert "No such page" in assert_a_console_page(response, 404)
    assert "Sign out" not in response.text


@pytest.mark.parametrize("path", ["/api/v1/nothing", "/consoles", "/console-x"])
def test_addresses_outside_the_console_keep_the_apis_answer(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_a_fraud_review_form_with_an_outcome_it_does_not_offer_changes_nothing(client, shop):
    from tests.server.api import make_admin
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
    resolve = f"/console/fraud-reviews/{review['id']}/resolve"
    for outcome in ("maybe", "open", ""):
        response = admin.submit(lists, resolve, outcome=outcome, reason="looked at it")
        text = assert_a_console_page(response, 422)
        assert "Outcome: choose “cleared” (nothing wrong) or “confirmed” (it was fraud)" in text
        assert f"Resolve review {review['id']}" in text  # the list, its form still there
    [after] = api_admin.get("/api/v1/admin/fraud/reviews").json()["items"]
    assert after["status"] == "open"
    assert "fraud review resolved" not in client.get("/console/audit").text


# -- paging past the end -------------------------------------------------------------------


def make_users(client, count: int) -> None:
    from server.accounts.models import Role, User

    with client.app.state.sessions() as session:
        for n in range(count):
            session.add(
                User(email=f"page-{n:02}@example.com", password_hash="-", role=Role.CUSTOMER)
            )
        session.commit()


@pytest.mark.parametrize("offset", [30, 31, 1_000_000])
def test_a_page_past_the_end_says_so_and_links_the_first_and_last_pages(client, offset):
    make_users(client, 30)
    signed_in_admin(client)
    response = client.get("/console/lists/users", params={"q": "page-", "offset": offset})
    text = assert_a_console_page(response, 200)
    assert "There is nothing this far: there are 30 in all." in text
    assert "showing" not in text
    assert "None" not in text
    assert "Previous page" not in text
    links = {
        label: href.replace("&amp;", "&")
        for href, label in re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', response.text)
    }
    assert links["First page"] == "/console/lists/users?q=page-&offset=0"
    assert links["Last page"] == "/console/lists/users?q=page-&offset=25"
    last = client.get(links["Last page"])
    assert "30 in all, showing 26–30." in main_of(last.text)


@pytest.mark.parametrize("path", ["/console/businesses", "/console/audit"])
def test_the_other_pagers_say_nothing_this_far_too(client, shop, path):
    signed_in_admin(client)
    response = client.get(path, params={"offset": 25})
    text = assert_a_console_page(response, 200)
    assert "There is nothing this far" in text
    assert "showing" not in text
    assert "No business matches" not in text
    assert "No admin has changed anything" not in text
    assert "First page" in text
    assert "Last page" not in text  # one page in all: the first is the last
