"""After a shop purchase: the gift email's link opens the shop's claim page (when no app
address is set), which claims the card into the account; a card bought for oneself while
signed in is in the account at once; the email greets its recipient by name and keeps the
message's lines; a gift bought while signed in sends its buyer a receipt."""

from __future__ import annotations

import re
from email.message import EmailMessage as Message
from html import unescape
from urllib.parse import urlsplit

import pytest

from server.notifications.gift_mail import claim_link
from tests.server.api import PASSWORD, open_shop, sign_up
from tests.server.console import csrf_of
from tests.server.mailbox import Sink, mailing_client, notification_worker  # noqa: F401 - fixtures
from tests.server.test_shop import as_gift, buy, sign_in

LINK = re.compile(r"open this link and sign in \(or create an account\): (\S+)")


@pytest.fixture
def cafe(client) -> str:
    return open_shop(client).business_id


def text_of(message: Message) -> str:
    body = message.get_body(preferencelist=("plain",))
    return str(body.get_content()).replace("\r\n", "\n")  # type: ignore[union-attr]


def html_of(message: Message) -> str:
    return str(message.get_body(preferencelist=("html",)).get_content())  # type: ignore[union-attr]


def test_the_claim_link_is_the_apps_when_set_else_the_shops_claim_page(settings):
    assert claim_link(settings, "ABCD-EFGH-JKMN") == (
        f"{settings.public_url}/shop/claim-gift?code=ABCD-EFGH-JKMN"
    )
    app = settings.model_copy(update={"app_url": "https://app.example.com/"})
    assert (
        claim_link(app, "ABCD-EFGH-JKMN")
        == "https://app.example.com/claim-gift?code=ABCD-EFGH-JKMN"
    )


def test_the_gift_emails_link_signs_in_and_claims_the_card_into_the_account(
    client, cafe, worker, sink: Sink
):
    assert buy(client, cafe, None, **as_gift(amount="30")).status_code == 303
    worker.run_once()
    (email,) = sink.to("sam@example.com")
    link = LINK.search(text_of(email))
    assert link is not None, text_of(email)
    url = urlsplit(link[1])
    page = client.get(f"{url.path}?{url.query}")
    assert page.status_code == 200  # a page, not the API's JSON 404
    assert "Sign in to claim it" in page.text
    code = url.query.removeprefix("code=")
    assert f'name="claim" value="{code}"' in page.text

    sam = sign_up(client, email="sam@example.com")
    signed = client.post(
        "/shop/sign-in",
        data={"csrf": csrf_of(page.text), "email": sam.email, "password": PASSWORD, "claim": code},
        follow_redirects=False,
    )
    assert signed.status_code == 303, signed.text
    assert signed.headers["location"] == f"/shop/claim-gift?code={code}"
    ready = client.get(signed.headers["location"])
    assert "Claim it into my account" in ready.text
    assert sam.get("/api/v1/me/gift-cards").json()["items"] == []  # opening it claims nothing
    claimed = client.post(
        "/shop/claim-gift", data={"csrf": csrf_of(ready.text), "code": code}, follow_redirects=False
    )
    assert claimed.status_code == 303
    cards = client.get(claimed.headers["location"])
    assert "The Corner Café gift card is in your account now." in cards.text
    assert "£30.00" in cards.text
    again = client.post(
        "/shop/claim-gift", data={"csrf": csrf_of(ready.text), "code": "WRON-GCOD-E000"}
    )
    assert again.status_code == 400
    assert "That gift code does not work" in unescape(again.text)


def test_a_card_bought_for_oneself_while_signed_in_is_in_your_cards(
    client, cafe, worker, sink: Sink
):
    pat = sign_up(client)
    assert sign_in(client, pat.email).status_code == 303
    bought = buy(client, cafe, email=pat.email, amount="4")
    assert bought.status_code == 303
    assert "It is in your account" in client.get(bought.headers["location"]).text
    cards = client.get("/shop/my-cards")
    assert "Corner Café" in cards.text
    assert "£4.00" in cards.text
    assert [c["balance"]["minor"] for c in pat.get("/api/v1/me/gift-cards").json()["items"]] == [
        400
    ]
    worker.run_once()
    (email,) = [m for m in sink.to(pat.email) if m["Subject"] == "Your Corner Café gift card"]
    text = text_of(email)
    assert "It is in your Tillpoint account already" in text
    assert "To keep it" not in text  # nothing to claim
    # For oneself but to another address: a card sent there, to claim.
    assert buy(client, cafe, email="other@example.com", amount="5").status_code == 303
    assert "£5.00" not in client.get("/shop/my-cards").text


def test_a_gift_bought_while_signed_in_sends_its_buyer_a_receipt(client, cafe, worker, sink: Sink):
    pat = sign_up(client)
    assert sign_in(client, pat.email).status_code == 303
    assert buy(client, cafe, None, **as_gift(email=pat.email, amount="12")).status_code == 303
    worker.run_once()
    (receipt,) = sink.to(pat.email)
    assert receipt["Subject"] == "Your gift for Sam: a Corner Café gift card"
    assert "holding £12.00 for Sam" in text_of(receipt)
    assert [g["recipient_name"] for g in pat.get("/api/v1/me/gifts").json()["items"]] == ["Sam"]


def test_the_gift_email_greets_them_by_name_and_keeps_the_messages_lines(
    client, cafe, worker, sink: Sink
):
    fields = as_gift(recipient_name="Zoë <b>Z</b>", message="Dear Zoë,\r\nHappy birthday!\r\nPat")
    assert buy(client, cafe, None, **fields).status_code == 303
    worker.run_once()
    (email,) = sink.to("sam@example.com")
    text, html = text_of(email), html_of(email)
    assert text.startswith("Hello Zoë <b>Z</b>,")
    assert "Dear Zoë,\nHappy birthday!\nPat" in text
    assert "Hello Zoë &lt;b&gt;Z&lt;/b&gt;," in html
    assert "Dear Zoë,<br>Happy birthday!<br>Pat" in html
