"""The gift-card shop's pages (/shop): anyone buys a card for themselves or as a gift with a
plain HTML form; it arrives by email (a real SMTP server on loopback) with its QR code; a
form sent twice buys once; refusals are said on the form and charge nothing; suspended and
hibernating businesses have no shop; a card's balance is found by its email's code."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage as Message
from html import unescape

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy import func, select

from server.gifts.models import Gift
from server.wallet.models import GiftCard
from server.wallet.qr_images import qr_png
from tests.server.api import PASSWORD, buy_card, open_shop, sign_up
from tests.server.console import csrf_of, signed_in_admin
from tests.server.mailbox import Sink, mailing_client, notification_worker  # noqa: F401 - fixtures

CODE = re.compile(r"\b[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}\b")
TOKEN = re.compile(r"the till can take its text: (.+?)\r?$", re.MULTILINE)
ONCE = re.compile(r'name="once" value="([^"]+)"')
DECLINED = "4000 0000 0000 0002"
ERROR = re.compile(r'<(p|div) class="error" role="alert"[^>]*>(.*?)</\1>', re.DOTALL)
TAG = re.compile(r"<[^>]+>")
CARD_INPUT = re.compile(r'<input id="card_number"[^>]*>')
# The API's and the validator's wording, never shown in the shop.
NOT_PLAIN = ("should have", "value is not", "Value error", "Idempotency", "..", "items")


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


def as_gift(**changes: str) -> dict[str, str]:
    return {
        "for_whom": "someone",
        "recipient_name": "Sam",
        "recipient_email": "sam@example.com",
        "message": "Happy birthday",
        **changes,
    }


def typed(tokens: dict[str, str], fields: dict[str, str]) -> dict[str, str]:
    """The form as a browser sends it: the card number in its field of this page load."""
    card = fields.pop("card_number", "")
    return {**tokens, **fields, f"card_{tokens['once']}": card}


def test_a_script_may_send_the_card_number_by_its_plain_name(client, cafe, sessions):
    """Scripts and tools post `card_number`; no page has a field of that name to restore."""
    sent = client.post(
        f"/shop/{cafe}", data={**form_of(client, cafe), **for_me()}, follow_redirects=False
    )
    assert sent.status_code == 303
    assert counts(sessions) == (1, 1)


def buy(client: TestClient, business_id: str, tokens: dict[str, str] | None = None, **fields: str):
    tokens = tokens or form_of(client, business_id)
    return client.post(
        f"/shop/{business_id}", data=typed(tokens, for_me(**fields)), follow_redirects=False
    )


def counts(sessions) -> tuple[int, int]:
    with sessions() as session:
        gifts = session.scalar(select(func.count()).select_from(Gift))
        cards = session.scalar(select(func.count()).select_from(GiftCard))
    return gifts or 0, cards or 0


def error_of(html: str) -> str:
    """What the page's error says, as a person reads it."""
    found = ERROR.search(html)
    assert found is not None, html
    return " ".join(unescape(TAG.sub(" ", found.group(2))).split())


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
    assert email["Subject"] == "Your Corner Café gift card"  # no one "sent" it: Pat bought it
    text = email.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "the Corner Café gift card you bought, holding £25.00" in text
    assert "sent you" not in text
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


def test_a_message_of_several_lines_keeps_them(client, cafe, sessions):
    """A browser sends a text area's lines with CRLF: the gift keeps them as lines."""
    bought = buy(client, cafe, None, **as_gift(message="Dear Sam,\r\nHappy birthday!\r\n\tPat"))
    assert bought.status_code == 303, error_of(bought.text)
    with sessions() as session:
        assert session.scalars(select(Gift.message)).one() == "Dear Sam,\nHappy birthday!\n\tPat"


def test_a_form_sent_twice_buys_once(client, cafe, sessions):
    tokens = form_of(client, cafe)
    first = buy(client, cafe, tokens)
    again = buy(client, cafe, tokens)
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    assert counts(sessions) == (1, 1)
    other = buy(client, cafe, tokens, amount="30")  # the same token for another purchase
    assert other.status_code == 409
    assert error_of(other.text) == (
        "This form was already sent: open the shop page again to buy another card."
    )
    assert 'value="30"' in other.text  # what was typed
    assert counts(sessions) == (1, 1)


@pytest.mark.parametrize(
    ("fields", "status", "words"),
    [
        ({"card_number": DECLINED}, 402, "The card was declined: use another card."),
        ({"amount": "lots"}, 422, "Amount: give an amount in GBP, such as 25 or 25.00."),
        ({"amount": "0"}, 422, "Amount: give an amount above zero."),
        (
            {"amount": "100000"},
            422,  # said with the other fields' problems, before any payment
            "A card can hold at most £750.00: choose a smaller amount.",
        ),
        (
            {"card_number": "4000 0000 0000 0127"},  # the form has no security code field
            402,
            "The card's security code was refused: use another card.",
        ),
        ({"amount": "99999999"}, 422, "A card can hold at most £750.00"),
        ({"card_number": " "}, 422, "Payment card number: type the card's number."),
        (
            {"email": "not an email"},
            422,
            "Your email: give an address such as name@example.com.",
        ),
        (
            {"email": ""},
            422,
            "Your email: give an address such as name@example.com.",
        ),
        (
            as_gift(email="not an email"),  # the buyer's, on a gift
            422,
            "Your email: give an address such as name@example.com.",
        ),
        (as_gift(recipient_name=""), 422, "Give their name."),
        (as_gift(recipient_name="   "), 422, "Give their name."),
        (
            as_gift(recipient_email=""),
            422,
            "Their email: give an address such as name@example.com.",
        ),
        (
            as_gift(recipient_email="sam.example.com"),
            422,
            "Their email: give an address such as name@example.com.",
        ),
        (
            as_gift(deliver_on="31/01/2027"),
            422,
            "Delivery date: give a date such as 2027-01-31, or leave it empty.",
        ),
    ],
)
def test_refusals_are_said_on_the_form_and_charge_nothing(
    client, cafe, sessions, fields, status, words
):
    refused = buy(client, cafe, None, **fields)
    assert refused.status_code == status
    said = error_of(refused.text)
    assert words in said
    assert not any(words in said for words in NOT_PLAIN), said
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


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        (
            as_gift(message="Happy\vbirthday"),  # a soft line break, pasted from Word
            "Your message: remove the invisible character after “Happy”",
        ),
        (
            as_gift(message="Dear Sam,\r\nHappy\x0cbirthday"),
            "Your message: remove the invisible character after “Dear Sam, Happy”",
        ),
        ({"name": "Pat\x1b[31m"}, "Your name: remove the invisible character after “Pat”"),
        ({"name": "\x00Pat"}, "Your name: remove the invisible character at its start"),
        (as_gift(recipient_name="S\x07am"), "Their name: remove the invisible character"),
        ({"email": "pat@example.com\x00"}, "Your email: remove the invisible character"),
        (
            {"name": "P" * 700},
            "Your name: shorten it to at most 100 characters (it has 700).",
        ),
        (
            {"email": "p" * 300 + "@example.com"},
            "Your email: shorten it to at most 254 characters (it has 312).",
        ),
        (as_gift(recipient_name="S" * 101), "Their name: shorten it to at most 100 characters"),
        (
            as_gift(recipient_email="s" * 250 + "@example.com"),
            "Their email: shorten it to at most 254 characters",
        ),
        (as_gift(message="x" * 700), "Your message: shorten it to at most 500 characters"),
        ({"card_number": "4" * 31}, "Payment card number: shorten it to at most 30 characters"),
    ],
)
def test_a_field_the_shop_cannot_take_brings_the_form_back_with_what_was_typed(
    client, cafe, sessions, fields, words
):
    """A pasted control character or too long a text is said on the page, in words naming
    the field, with everything typed but the card number — not a bare JSON document."""
    refused = buy(client, cafe, None, **fields)
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("text/html")
    assert f'<form method="post" action="/shop/{cafe}"' in refused.text
    said = error_of(refused.text)
    assert said.startswith(words), said
    assert not any(words in said for words in NOT_PLAIN), said
    typed = {**for_me(), **fields}
    for name in ("amount", "email", "name", "recipient_name", "recipient_email"):
        if name in typed:
            assert f'value="{escape(typed[name])}"' in refused.text, name
    if "message" in typed:
        assert f">{escape(typed['message'])}</textarea>" in refused.text
    if typed["for_whom"] == "someone":
        assert 'value="someone" checked' in refused.text
    (card_input,) = CARD_INPUT.findall(refused.text)
    assert "value=" not in card_input  # the card number is not echoed back
    assert counts(sessions) == (0, 0)


def test_the_shop_forms_inputs_take_what_the_server_takes(client, cafe):
    """The page's inputs stop typing where the server would refuse (`maxlength`)."""
    page = client.get(f"/shop/{cafe}").text
    for name, most in [
        ("email", 254),
        ("name", 100),
        ("recipient_name", 100),
        ("recipient_email", 254),
        ("card_number", 30),
    ]:
        (tag,) = re.findall(rf'<input id="{name}"[^>]*>', page)
        assert f'maxlength="{most}"' in tag, tag
    assert re.search(r'<textarea id="message"[^>]*maxlength="500"', page)


def test_the_balance_and_sign_in_forms_say_what_to_fix_on_the_page(client):
    page = client.get("/shop/balance")
    pasted = client.post("/shop/balance", data={"csrf": csrf_of(page.text), "code": "ABCD\x0b-EF"})
    assert pasted.status_code == 422
    assert pasted.headers["content-type"].startswith("text/html")
    assert error_of(pasted.text).startswith("Code: remove the invisible character after “ABCD”")
    assert 'value="ABCD\x0b-EF"' in pasted.text
    long = client.post("/shop/balance", data={"csrf": csrf_of(page.text), "code": "A" * 400})
    assert long.status_code == 422
    assert error_of(long.text) == "Code: shorten it to at most 300 characters (it has 400)."

    def signed(**fields: str):
        form = client.get("/shop/sign-in")
        data = {"csrf": csrf_of(form.text), "email": "pat@example.com", "password": "x", **fields}
        return client.post("/shop/sign-in", data=data, follow_redirects=False)

    email = signed(email="pat\x0b@example.com")
    assert email.status_code == 422
    assert email.headers["content-type"].startswith("text/html")
    assert error_of(email.text).startswith("Email: remove the invisible character after “pat”")
    assert 'value="pat\x0b@example.com"' in email.text
    password = signed(password="sec\x00ret")
    assert password.status_code == 422
    said = error_of(password.text)
    assert said.startswith("Password: ")
    assert "sec" not in said  # a password is never quoted back
    assert error_of(signed(email="p" * 300 + "@example.com").text).startswith(
        "Email: shorten it to at most 254 characters"
    )


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


def test_the_card_number_field_is_named_anew_on_each_page_load(client, cafe, sessions):
    """Back after buying fetches the page again, and browsers restore typed fields by their
    name: a card number's field of an earlier load is never the new page's."""
    pages = [client.get(f"/shop/{cafe}").text for _ in range(2)]
    names = [re.search(r'<input id="card_number" name="([^"]+)"', page) for page in pages]
    assert names[0] is not None
    assert names[1] is not None
    assert names[0][1] != names[1][1]
    tokens = form_of(client, cafe)
    earlier = client.post(
        f"/shop/{cafe}",
        data={**tokens, **for_me(card_number=""), names[0][1]: "4242424242424242"},
        follow_redirects=False,
    )
    assert earlier.status_code == 422
    assert error_of(earlier.text) == "Payment card number: type the card's number."
    assert counts(sessions) == (0, 0)


def test_the_shop_page_says_what_this_browser_bought_a_moment_ago(client, cafe, sessions):
    before = client.get(f"/shop/{cafe}")
    assert "a moment ago" not in before.text
    bought = buy(client, cafe, amount="21")
    assert bought.status_code == 303
    again = client.get(f"/shop/{cafe}")  # Back, or the shop's link
    assert "You bought a £21.00 Corner Café gift card a moment ago" in unescape(again.text)
    assert f'href="{bought.headers["location"]}"' in again.text  # its confirmation
    other = open_shop(client, "Bakery")  # another shop says nothing of it
    assert "a moment ago" not in client.get(f"/shop/{other.business_id}").text
    assert counts(sessions) == (1, 1)


@pytest.mark.parametrize("path", ["/shop", "/shop/", "/shop/x/y/z", "/shop/balance/x"])
def test_an_address_with_no_shop_page_says_so_in_words(client, path):
    page = client.get(path, follow_redirects=False)
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "There is no page at this address" in page.text
    assert 'href="/shop/balance"' in page.text


def test_the_latest_delivery_day_is_taken_and_the_next_refused_in_true_words(client, cafe):
    from server.shop.service import latest_day

    latest = latest_day(datetime.now(UTC))
    page = client.get(f"/shop/{cafe}").text
    assert f'max="{latest.isoformat()}"' in page
    later = buy(client, cafe, None, **as_gift(deliver_on=(latest + timedelta(days=1)).isoformat()))
    assert later.status_code == 422
    assert error_of(later.text) == (
        "Delivery date: a gift can wait at most a year. Choose a day on or before "
        f"{latest:%d %B %Y}."
    )
    taken = buy(client, cafe, None, **as_gift(deliver_on=latest.isoformat()))
    assert taken.status_code == 303, error_of(taken.text)


def test_every_wrong_field_is_said_at_once_and_tied_to_its_field(client, cafe, sessions):
    fields = as_gift(amount="1000", recipient_email="sam.example.com", name="P\x0bat")
    refused = buy(client, cafe, None, **fields)
    assert refused.status_code == 422
    said = error_of(refused.text)
    assert said.startswith("Fix these 3 things, then pay again:"), said
    for words in (
        "A card can hold at most £750.00: choose a smaller amount.",
        "Your name: remove the invisible character after “P”",
        "Their email: give an address such as name@example.com.",
    ):
        assert words in said
    for name in ("amount", "name", "recipient_email"):
        (tag,) = re.findall(rf'<(?:input|textarea) id="{name}"[^>]*>', refused.text)
        assert f'aria-invalid="true" aria-describedby="{name}-error"' in tag, tag
        assert f'<p class="field-error" id="{name}-error">' in refused.text
    (fine,) = re.findall(r'<input id="email"[^>]*>', refused.text)
    assert "aria-invalid" not in fine
    assert counts(sessions) == (0, 0)
