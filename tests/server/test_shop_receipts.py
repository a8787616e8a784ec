"""The shop's receipts: a gift bought without signing in, for someone else, sends its buyer
a receipt (a real SMTP server on loopback) — once, however often the form is sent, and
never with the card's codes; a card for oneself is its own receipt; a signed-in buyer's
receipt is their account's, never a second one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage as Message

import pytest
from sqlalchemy import func, select

from server.gifts.addresses import same_address
from server.gifts.models import Gift, GiftReceipt
from server.notifications import NotificationWorker, SmtpSender
from server.outbox import Delivery
from server.wallet.models import GiftCard
from tests.server.api import open_shop, sign_up
from tests.server.mailbox import Sink, mailing_client, notification_worker  # noqa: F401 - fixtures
from tests.server.test_gifts import at_once
from tests.server.test_shop import CODE, as_gift, buy, form_of, sign_in
from tests.server.test_shop_claims import html_of, text_of

PAT = "pat@example.com"  # the buyer's email on the shop's form (`for_me`)


@pytest.fixture
def cafe(client) -> str:
    return open_shop(client).business_id


def the_gift(sessions) -> tuple[Gift, str]:
    """The one gift bought, and its card's QR code text."""
    with sessions() as session:
        gift = session.scalars(select(Gift)).one()
        return gift, session.get_one(GiftCard, gift.card_id).token


def receipts(sessions) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(GiftReceipt)) or 0


def images(message: Message) -> list[Message]:
    return [p for p in message.walk() if p.get_content_maintype() == "image"]


def test_a_gift_bought_without_signing_in_sends_its_buyer_a_receipt_once_without_its_codes(
    client, cafe, worker, sink: Sink, sessions, notify_settings
):
    tokens = form_of(client, cafe)
    bought = buy(client, cafe, tokens, **as_gift(amount="25"))
    assert bought.status_code == 303
    again = buy(client, cafe, tokens, **as_gift(amount="25"))  # a reload: buys nothing more
    assert again.headers["location"] == bought.headers["location"]
    thanks = client.get(bought.headers["location"]).text
    assert "Your receipt is on its way to your email" in thanks

    gift, token = the_gift(sessions)
    code = gift.code  # kept until the gift email goes: the receipt is written before that
    worker.run_once()
    worker.run_once()
    (receipt,) = sink.to(PAT)
    assert receipt["Subject"] == "Your receipt: a Corner Café gift card for Sam"
    text = text_of(receipt)
    assert text.startswith("Hello Pat,")
    assert "You bought a Corner Café gift card holding £25.00 for Sam (sam@example.com)." in text
    assert "We are emailing it to them now" in text
    assert "Paid: £25.00 (25.00 GBP), on " in text
    assert f"Gift reference: {gift.id}." in text
    assert f"{notify_settings.public_url}/shop/{cafe}/bought/{gift.id}" in text
    assert "write to Tillpoint's support and give the reference" in text
    # The card spends like cash: its codes are Sam's alone.
    (gift_email,) = sink.to("sam@example.com")
    assert code in text_of(gift_email)
    html = html_of(receipt)
    for secret in (code, code.replace("-", ""), token):
        assert secret not in text
        assert secret not in html
    assert CODE.search(text) is None
    assert images(receipt) == []
    assert receipts(sessions) == 1


def test_a_gift_for_a_later_day_sends_its_receipt_now_and_says_when_it_goes(
    client, cafe, worker, sink: Sink, sessions
):
    day = (datetime.now(UTC) + timedelta(days=3)).date()
    bought = buy(client, cafe, None, **as_gift(deliver_on=day.isoformat(), name=""))
    assert bought.status_code == 303
    worker.run_once()
    assert sink.to("sam@example.com") == []  # not its day yet
    (receipt,) = sink.to(PAT)
    text = text_of(receipt)
    assert text.startswith("Hello,")
    assert f"We email it to them on {day:%d %B %Y} at 09:00 UTC" in text
    gift, token = the_gift(sessions)
    assert gift.code
    assert gift.code not in text
    assert token not in text


def test_a_form_sent_twice_at_once_sends_one_receipt(client, cafe, worker, sink: Sink, sessions):
    tokens = form_of(client, cafe)
    answers = at_once(2, lambda: buy(client, cafe, dict(tokens), **as_gift()))
    assert [a.status_code for a in answers] == [303, 303], [a.text for a in answers]
    worker.run_once()
    worker.run_once()
    assert len(sink.to(PAT)) == 1
    assert receipts(sessions) == 1


def test_a_receipt_the_mail_server_refuses_is_tried_again_and_sent_once(
    client, cafe, sessions, notify_settings, push, sink: Sink
):
    assert buy(client, cafe, None, **as_gift()).status_code == 303
    down = notify_settings.model_copy(update={"smtp_port": 1})  # nothing listens there
    failing = NotificationWorker(sessions, notify_settings, email=SmtpSender(down), push=push)
    assert failing.run_once().receipts.retrying == 1
    assert sink.to(PAT) == []
    later = datetime.now(UTC) + timedelta(hours=1)
    working = NotificationWorker(sessions, notify_settings, push=push, clock=lambda: later)
    assert working.run_once().receipts.sent == 1
    assert working.run_once().receipts.sent == 0
    assert len(sink.to(PAT)) == 1


def test_a_card_for_oneself_is_one_email_that_is_also_its_receipt(
    client, cafe, worker, sink: Sink, sessions
):
    bought = buy(client, cafe, amount="25")
    assert bought.status_code == 303
    assert "Your receipt" not in client.get(bought.headers["location"]).text
    worker.run_once()
    (email,) = sink.to(PAT)  # the card itself, with its codes: it is the buyer's
    gift, _token = the_gift(sessions)
    assert f"Paid: £25.00 (25.00 GBP). Gift reference: {gift.id}." in text_of(email)
    assert receipts(sessions) == 0


def test_a_signed_in_buyers_receipt_is_their_accounts_and_comes_once(
    client, cafe, worker, sink: Sink, sessions
):
    pat = sign_up(client)
    assert sign_in(client, pat.email).status_code == 303
    # The form's email is another of theirs: the account's receipt is the one receipt.
    bought = buy(client, cafe, None, **as_gift(email="pat.work@example.com", amount="12"))
    assert bought.status_code == 303
    thanks = client.get(bought.headers["location"]).text
    assert "Your receipt is on its way to your account's email and the app's inbox" in thanks
    worker.run_once()
    worker.run_once()
    assert sink.to("pat.work@example.com") == []
    (receipt,) = sink.to(pat.email)
    assert receipt["Subject"] == "Your gift for Sam: a Corner Café gift card"
    gift, token = the_gift(sessions)
    text = text_of(receipt)
    assert f"Paid: £12.00 (12.00 GBP). Gift reference: {gift.id}." in text
    (gift_email,) = sink.to("sam@example.com")
    code = CODE.search(text_of(gift_email))
    assert code is not None
    assert code[0] not in text
    assert token not in text
    assert receipts(sessions) == 0


def test_a_signed_in_card_for_oneself_to_another_address_is_one_email_and_its_receipt(
    client, cafe, worker, sink: Sink, sessions
):
    """Signed in, "for me" with another of their addresses: the card goes there, to claim,
    and that email is the receipt — no second one to the account, and no gift to cancel."""
    pat = sign_up(client)
    assert sign_in(client, pat.email).status_code == 303
    bought = buy(client, cafe, email="pat.work@example.com", amount="4")
    assert bought.status_code == 303
    thanks = client.get(bought.headers["location"]).text
    assert "It is on its way to your email" in thanks
    assert "Your receipt" not in thanks
    worker.run_once()
    worker.run_once()
    assert sink.to(pat.email) == []
    (email,) = sink.to("pat.work@example.com")
    gift, _token = the_gift(sessions)
    text = text_of(email)
    assert f"Paid: £4.00 (4.00 GBP). Gift reference: {gift.id}." in text
    assert "cancel" not in text
    assert receipts(sessions) == 0


def test_a_gift_to_ones_own_address_in_other_letters_is_a_card_for_oneself(
    client, cafe, worker, sink: Sink, sessions
):
    """Addresses are one person's whatever their letters' case: a gift from `Pat@…` to
    `pat@…` is Pat's own card, on the confirmation page as in the emails."""
    bought = buy(client, cafe, None, **as_gift(email="Pat@Example.com", recipient_email=PAT))
    assert bought.status_code == 303
    thanks = client.get(bought.headers["location"]).text
    assert "It is on its way to your email" in thanks
    assert "on its way to Sam" not in thanks
    assert "Your receipt" not in thanks
    worker.run_once()
    (email,) = sink.to(PAT)
    assert email["Subject"] == "Your Corner Café gift card"
    assert "Paid: £25.00 (25.00 GBP)" in text_of(email)
    assert receipts(sessions) == 0


@pytest.mark.parametrize(
    ("one", "other", "same"),
    [
        ("ann@example.com", "ann@example.com", True),
        ("Ann@Example.com", "ann@example.com", True),
        (" ann@example.com ", "ANN@EXAMPLE.COM", True),
        ("ann@example.com", "anne@example.com", False),
        ("", "", False),  # an erased buyer's address is no one's
    ],
)
def test_the_buyers_own_address_is_one_rule(one: str, other: str, same: bool):
    assert same_address(one, other) is same


def test_a_receipt_given_up_on_is_not_said_to_be_on_its_way(
    client, cafe, sessions, notify_settings, push
):
    bought = buy(client, cafe, None, **as_gift())
    assert bought.status_code == 303
    down = notify_settings.model_copy(update={"smtp_port": 1, "notifications_max_attempts": 1})
    failing = NotificationWorker(sessions, down, email=SmtpSender(down), push=push)
    assert failing.run_once().receipts.failed == 1
    with sessions() as session:
        assert session.scalars(select(GiftReceipt)).one().status is Delivery.FAILED
    gift, _token = the_gift(sessions)
    thanks = client.get(bought.headers["location"]).text
    assert "Your receipt is on its way" not in thanks
    assert "We could not email your receipt to the address you gave" in thanks
    assert "keep this page as your receipt" in thanks
    assert f"<code>{gift.id}</code>" in thanks
    assert "write to Tillpoint's support and give the reference" in thanks
