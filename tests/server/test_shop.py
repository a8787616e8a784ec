"""The gift-card shop's pages (/shop): anyone buys a card for themselves or as a gift with a
plain HTML form; it arrives by email (a real SMTP server on loopback) with its QR code; a
form sent twice buys once; refusals are said on the form and charge nothing; suspended and
hibernating businesses have no shop; a card's balance is found by its email's code."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage as Message

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from server.app import create_app
from server.gifts.models import Gift
from server.notifications import NotificationWorker
from server.wallet.models import GiftCard
from server.wallet.qr_images import qr_png
from tests.server.api import PASSWORD, buy_card, open_shop, sign_up
from tests.server.console import csrf_of, signed_in_admin
from tests.server.mailbox import Sink

CODE = re.compile(r"\b[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}\b")
TOKEN = re.compile(r"the till can take its text: (.+?)\r?$", re.MULTILINE)
ONCE = re.compile(r'name="once" value="([^"]+)"')
DECLINED = "4000 0000 0000 0002"


@pytest.fixture
def client(notify_settings, engine, push) -> Iterator[TestClient]:
    with TestClient(create_app(notify_settings, engine=engine, push=push)) as client:
        yield client


@pytest.fixture
def worker(sessions, notify_settings, push) -> NotificationWorker:
    return NotificationWorker(sessions, notify_settings, push=push)


@pytest.fixture
def cafe(client) -> str:
    return open_shop(client).business_id


def form_of(client: TestClient, business_id: str) -> dict[str, str]:
    page = client.get(f"/shop/{business_id}")
    assert page.status_code == 200, page.text
    once = ONCE.search(page.text)
    assert once is not None
    return {"csrf": csrf_of(page.text), "once": once.group(1)}


def for_me(**changes: str) -> dict[str, str]:
    return {
        "amount": "25.00",
        "for_whom": "me",
        "email": "pat@example.com",
        "name": "Pat",
        "card_number": "4242 4242 4242 4242",
        **changes,
    }


def buy(client: TestClient, business_id: str, tokens: dict[str, str] | None = None, **fields: str):
    tokens = tokens or form_of(client, business_id)
    return client.post(
        f"/shop/{business_id}", data={**tokens, **for_me(**fields)}, follow_redirects=False
    )


def counts(sessions) -> tuple[int, int]:
    with sessions() as session:
        gifts = session.scalar(select(func.count()).select_from(Gift))
        cards = session.scalar(select(func.count()).select_from(GiftCard))
    return gifts or 0, cards or 0


def attachment(message: Message) -> bytes:
    for part in message.walk():
        if part.get_content_type() == "image/png":
            return bytes(part.get_content())
    raise AssertionError("no image in the email")


def test_a_card_for_oneself_arrives_by_email_with_its_qr_code_and_its_balance_shows(
    client, cafe, worker, sink: Sink, sessions
):
    page = client.get(f"/shop/{cafe}")
    assert "Corner Café gift cards" in page.text
    assert "4242424242424242" in page.text  # the simulated gateway's test cards are shown
    bought = buy(client, cafe)
    assert bought.status_code == 303
    thanks = client.get(bought.headers["location"])
    assert "You paid £25.00 for a Corner Café gift card" in thanks.text
    worker.run_once()
    (email,) = sink.to("pat@example.com")
    text = email.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "gift card holding £25.00" in text
    token = TOKEN.search(text)
    assert token is not None
    with sessions() as session:
        assert token.group(1) == session.scalars(select(GiftCard)).one().token
    assert attachment(email) == qr_png(token.group(1))  # the QR code says the card's token
    html = email.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    assert 'src="cid:card-' in html
    code = CODE.search(text)
    assert code is not None
    form = client.get("/shop/balance")
    checked = client.post(
        "/shop/balance", data={"csrf": csrf_of(form.text), "code": code.group(0).lower()}
    )
    assert checked.status_code == 200
    assert '<dd id="balance">£25.00</dd>' in checked.text


def test_a_gift_waits_for_its_day(client, cafe, worker, sink: Sink, sessions):
    day = (datetime.now(UTC) + timedelta(days=3)).date()
    bought = buy(
        client,
        cafe,
        for_whom="someone",
        recipient_name="Sam",
        recipient_email="sam@example.com",
        message="Happy birthday",
        deliver_on=day.isoformat(),
    )
    assert bought.status_code == 303
    thanks = client.get(bought.headers["location"])
    assert f"We will email it to Sam on {day.strftime('%d %B %Y')}" in thanks.text
    worker.run_once()
    assert sink.to("sam@example.com") == []
    with sessions() as session:
        gift = session.scalars(select(Gift)).one()
        assert (gift.buyer_email, gift.buyer_id, gift.message) == (
            "pat@example.com",
            None,
            "Happy birthday",
        )
        assert gift.deliver_at == datetime(day.year, day.month, day.day, 9, tzinfo=UTC)


def test_a_form_sent_twice_buys_once(client, cafe, sessions):
    tokens = form_of(client, cafe)
    first = buy(client, cafe, tokens)
    again = buy(client, cafe, tokens)
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    assert counts(sessions) == (1, 1)
    other = buy(client, cafe, tokens, amount="30")  # the same token for another purchase
    assert other.status_code == 409
    assert counts(sessions) == (1, 1)


@pytest.mark.parametrize(
    ("fields", "status", "words"),
    [
        ({"card_number": DECLINED}, 402, "The card was declined: use another card."),
        ({"amount": "lots"}, 422, "Amount: give an amount in GBP"),
        ({"amount": "0"}, 422, "Amount: give an amount above zero"),
        ({"amount": "99999999"}, 422, "within the card limit"),
        ({"email": "not an email"}, 422, "Your email:"),
        ({"for_whom": "someone", "recipient_email": "x@example.com"}, 422, "Their name:"),
        ({"for_whom": "someone", "recipient_name": "Sam"}, 422, "Their email:"),
        (
            {
                "for_whom": "someone",
                "recipient_name": "Sam",
                "recipient_email": "s@example.com",
                "deliver_on": "31/01/2027",
            },
            422,
            "Delivery date: give a date such as",
        ),
    ],
)
def test_refusals_are_said_on_the_form_and_charge_nothing(
    client, cafe, sessions, fields, status, words
):
    refused = buy(client, cafe, **fields)
    assert refused.status_code == status
    assert words in refused.text
    assert 'class="error"' in refused.text
    assert counts(sessions) == (0, 0)
    assert '4000000000000002"' not in refused.text  # the card number is not echoed back
    # The form shown again carries a new one-time token: correcting it buys the card.
    assert buy(client, cafe, {"csrf": csrf_of(refused.text), "once": ONCE.findall(refused.text)[0]})
    assert counts(sessions) == (1, 1)


@pytest.mark.parametrize("text", ["\x00", "\x1b[31m"])
def test_control_characters_in_a_shop_field_are_refused_and_change_nothing(
    client, cafe, sessions, text
):
    """Shop form fields are text as the API's are: a NUL (which PostgreSQL refuses) or
    another control character is a 4xx, never a 500, and nothing is bought."""
    cases: list[dict[str, str]] = [
        {"name": f"Pat{text}"},
        {
            "for_whom": "someone",
            "recipient_name": "Sam",
            "recipient_email": "s@example.com",
            "message": f"Happy birthday{text}",
        },
    ]
    for fields in cases:
        refused = buy(client, cafe, None, **fields)
        assert 400 <= refused.status_code < 500, refused.text
    assert counts(sessions) == (0, 0)
    signed = client.post(
        "/shop/sign-in",
        data={
            "csrf": csrf_of(client.get("/shop/sign-in").text),
            "email": f"p{text}@example.com",
            "password": "x",
        },
        follow_redirects=False,
    )
    assert 400 <= signed.status_code < 500, signed.text


def test_a_form_without_its_csrf_token_buys_nothing(client, cafe, sessions):
    tokens = form_of(client, cafe)
    stale = buy(client, cafe, {**tokens, "csrf": "forged"})
    assert stale.status_code == 403
    assert "That form has expired" in stale.text
    no_token = buy(client, cafe, {**tokens, "once": ""})
    assert no_token.status_code == 403
    assert "That form has expired" in no_token.text
    assert counts(sessions) == (0, 0)


def test_a_suspended_business_has_no_shop_and_sells_nothing(client, cafe, sessions):
    tokens = form_of(client, cafe)
    admin = signed_in_admin(client)
    admin.submit(f"/console/businesses/{cafe}", f"/console/businesses/{cafe}/suspend", reason="x")
    page = client.get(f"/shop/{cafe}")
    assert page.status_code == 404
    assert "This shop is not selling gift cards" in page.text
    assert buy(client, cafe, tokens).status_code == 404
    assert counts(sessions) == (0, 0)
    assert client.get("/shop/no-such-business").status_code == 404


def test_a_hibernating_business_has_no_shop(client):
    shop = open_shop(client)
    base = f"/api/v1/businesses/{shop.business_id}"
    card = client.put(
        f"{base}/subscription/payment-card",
        json={"card_number": "4242424242424242"},
        headers=shop.owner.headers,
    )
    assert card.status_code == 200, card.text
    assert client.get(f"/shop/{shop.business_id}").status_code == 200
    slept = shop.owner.post(f"{base}/subscription/hibernate")
    assert slept.status_code == 200, slept.text
    assert client.get(f"/shop/{shop.business_id}").status_code == 404


def test_balance_checks_are_rate_limited_and_say_what_is_wrong(client):
    page = client.get("/shop/balance")
    csrf = csrf_of(page.text)
    wrong = client.post("/shop/balance", data={"csrf": csrf, "code": "AAAA-BBBB-CCCC"})
    assert wrong.status_code == 404
    assert "No card has that code" in wrong.text
    statuses = [
        client.post("/shop/balance", data={"csrf": csrf, "code": "AAAA-BBBB-CCCC"}).status_code
        for _ in range(12)
    ]
    assert statuses[-1] == 429
    assert (
        "Too many code attempts"
        in client.post("/shop/balance", data={"csrf": csrf, "code": "x"}).text
    )


def sign_in(client: TestClient, email: str, password: str = PASSWORD):
    page = client.get("/shop/sign-in")
    return client.post(
        "/shop/sign-in",
        data={"csrf": csrf_of(page.text), "email": email, "password": password},
        follow_redirects=False,
    )


def test_a_signed_in_customer_sees_their_cards_until_they_sign_out(client):
    cafe = open_shop(client)
    pat, sam = sign_up(client), sign_up(client)
    assert buy_card(pat, cafe, 2500).status_code == 201
    assert buy_card(sam, cafe, 990).status_code == 201
    assert client.get("/shop/my-cards", follow_redirects=False).headers["location"] == (
        "/shop/sign-in"
    )
    assert sign_in(client, pat.email, "wrong password").status_code == 401
    signed = sign_in(client, pat.email)
    assert signed.status_code == 303
    cards = client.get("/shop/my-cards")
    assert "Corner Café" in cards.text
    assert "£25.00" in cards.text
    assert "£9.90" not in cards.text  # Sam's
    # The sign-in is one of the account's sessions, as the API lists them.
    listed = pat.get("/api/v1/me/sessions").json()
    assert len(listed["items"] if isinstance(listed, dict) else listed) == 2
    out = client.post("/shop/sign-out", data={"csrf": csrf_of(cards.text)}, follow_redirects=False)
    assert out.headers["location"] == "/shop/sign-in"
    assert client.get("/shop/my-cards", follow_redirects=False).status_code == 303


def test_only_customers_sign_in_to_the_shop(client):
    cafe = open_shop(client)
    refused = sign_in(client, cafe.owner.email)
    assert refused.status_code == 401
    assert "The shop&#39;s sign-in is for customers" in refused.text
    assert client.get("/shop/my-cards", follow_redirects=False).status_code == 303
