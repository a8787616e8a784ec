"""Shop and account-page addresses typed, edited or sent by hand: an invisible character in
the address, a method no link or form sends, a form field longer than any page takes, a body
too large. Each gets a page in words in its own part's look, with the status the API would
give, and never the API's JSON (as the console's do: `test_console_addresses.py`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from server.app import create_app
from server.notifications import NotificationWorker
from server.web.forms import RAW_MAX
from tests.server.api import open_shop, sign_up
from tests.server.mailbox import Sink
from tests.server.test_account_links import NEW_PASSWORD, RESET, ask_reset, emailed_link, press
from tests.server.test_console_addresses import main_of
from tests.server.test_shop import buy, counts

STYLE = {
    "console": "/console/static/console.css",
    "shop": "/shop/static/shop.css",
    "account": "/account/static/account.css",
}


@pytest.fixture
def client(notify_settings, engine, push) -> Iterator[TestClient]:
    with TestClient(create_app(notify_settings, engine=engine, push=push)) as client:
        yield client


@pytest.fixture
def worker(sessions, notify_settings, push) -> NotificationWorker:
    return NotificationWorker(sessions, notify_settings, push=push)


def assert_a_page_of(part: str, response, status: int) -> str:
    """The page's text, once it is `part`'s page in words with `status`."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"
    assert f'href="{STYLE[part]}"' in response.text
    assert '"type"' not in response.text
    assert "see /docs" not in response.text
    return main_of(response.text)


@pytest.mark.parametrize(
    ("part", "path"),
    [
        ("shop", "/shop/%00"),
        ("shop", "/shop/cafe%01/bought/x"),
        ("account", "/account/%00"),
        ("account", "/account/verify-email%7F"),
    ],
)
def test_an_address_with_an_invisible_character_is_said_in_words(client, part, path):
    """Refused before any page sees it (`server.limits`), and still said on a page."""
    text = assert_a_page_of(part, client.get(path), 422)
    assert "That address is not right" in text
    assert "The address has an invisible character in it" in text


@pytest.mark.parametrize(
    ("part", "path", "name", "link"),
    [
        ("shop", "/shop/claim-gift?code=%00&from=mail", "code", "/shop/claim-gift?from=mail"),
        ("shop", "/shop/my-cards?claimed=a%1Bb", "claimed", "/shop/my-cards"),
        ("account", "/account/reset-password?code=%00", "code", "/account/reset-password"),
        ("account", "/account/verify-email?code=AB%00CD", "code", "/account/verify-email"),
    ],
)
def test_a_parameter_with_an_invisible_character_links_the_page_without_it(
    client, part, path, name, link
):
    response = client.get(path)
    text = assert_a_page_of(part, response, 422)
    assert f"The address's “{name}” has an invisible character in it" in text
    assert f'<a href="{link}">Open the page without it</a>' in response.text


@pytest.mark.parametrize(
    ("part", "method", "path", "allow"),
    [
        ("shop", "PUT", "/shop/balance", "GET"),
        ("shop", "DELETE", "/shop/my-cards", "GET"),
        ("account", "DELETE", "/account/verify-email", "GET"),
        ("account", "PATCH", "/account/password-changed", "GET"),
    ],
)
def test_a_method_no_link_or_form_sends_is_said_in_words_and_keeps_allow(
    client, part, method, path, allow
):
    response = client.request(method, path)
    text = assert_a_page_of(part, response, 405)
    assert "That address cannot take this" in text
    assert f"{path} does not take what was sent to it (a {method} request): nothing changed" in text
    assert response.headers["allow"] == allow


def test_a_shop_form_with_a_field_longer_than_any_page_takes_buys_nothing(client, sessions):
    cafe = open_shop(client).business_id
    response = buy(client, cafe, name="x" * (RAW_MAX + 1))
    text = assert_a_page_of("shop", response, 422)
    assert "That form could not be used" in text
    assert "It sent something its page does not offer (“name”): nothing changed" in text
    assert "x" * 50 not in text
    assert counts(sessions) == (0, 0)


@pytest.mark.parametrize("path", ["/shop/balance", "/shop/sign-in"])
def test_a_shop_form_with_a_csrf_field_longer_than_any_page_gives_is_said(client, path):
    response = client.post(path, data={"csrf": "x" * 101, "code": "ABCD-EFGH-JKMN"})
    text = assert_a_page_of("shop", response, 422)
    assert "It sent something its page does not offer (“csrf”)" in text


def test_a_reset_form_with_a_field_longer_than_any_page_takes_uses_nothing_up(
    client, worker, sink: Sink
):
    pat = sign_up(client)
    ask_reset(client, pat.email)
    link = emailed_link(worker, sink, pat.email, RESET)
    long = "p" * (RAW_MAX + 1)
    response = press(client, link, password=long, again=long)
    text = assert_a_page_of("account", response, 422)
    assert "That form could not be used" in text
    assert "(“password”, “again”)" in text
    assert press(client, link, password=NEW_PASSWORD, again=NEW_PASSWORD).status_code == 303


@pytest.mark.parametrize(
    ("part", "path", "taker"),
    [
        ("shop", "/shop/balance", "The shop"),
        ("account", "/account/reset-password", "Tillpoint account"),
    ],
)
def test_a_form_too_large_for_the_server_is_said_in_words(client, part, path, taker):
    response = client.post(path, data={"code": "x" * 2_000_000})
    text = assert_a_page_of(part, response, 413)
    assert "That form sent too much" in text
    assert f"{taker} takes less (at most 1,048,576 bytes): nothing changed" in text


@pytest.mark.parametrize(
    ("part", "path", "said"),
    [
        ("console", "/console/sign-in", "Nothing was changed. Go back, reload the page"),
        ("shop", "/shop/balance", "Nothing was bought or charged."),
        ("account", "/account/verify-email", "Open the link from the email again"),
    ],
)
def test_a_form_without_its_csrf_token_is_its_own_parts_expired_form_page(client, part, path, said):
    response = client.post(path, data={"csrf": "forged", "code": "ABCD-EFGH-JKMN"})
    text = assert_a_page_of(part, response, 403)
    assert "That form has expired" in text
    assert said in text
    assert f"Path=/{part}" in response.headers["set-cookie"]  # a token for its next form


@pytest.mark.parametrize("path", ["/shopping", "/shop-x", "/accounts", "/account-x"])
def test_addresses_outside_the_shop_and_account_pages_keep_the_apis_answer(client, path):
    response = client.put(path)
    assert response.status_code in (404, 405)
    assert response.headers["content-type"] == "application/problem+json"
