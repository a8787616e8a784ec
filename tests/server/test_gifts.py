"""Gifting: a card bought for someone else is in no one's account until claimed; its email
(text and HTML, with a claim link and code) goes to a real SMTP server on loopback at the
delivery time, once, by the notifications worker; the code claims it once; the buyer sees
and may cancel what is not sent yet. Transfers go only between one's own cards."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage as Message
from functools import partial
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.app import create_app
from server.db import make_engine, make_sessionmaker
from server.gifts.addresses import same_address
from server.gifts.models import Gift
from server.migrate import upgrade
from server.notifications import NotificationWorker, SmtpSender
from server.notifications.channels import OutgoingEmail
from server.notifications.gift_mail import GiftMailer
from server.outbox import Delivery, DeliveryRound
from server.wallet.models import GiftCard
from tests.server.api import (
    APPROVE,
    PASSWORD,
    Actor,
    buy_card,
    new_key,
    open_shop,
    sign_up,
    verify_email,
)
from tests.server.mailbox import (
    Sink,
    mailing_client,  # noqa: F401 - the fixture `client`
)
from tests.server.together import rounds_together

CODE = re.compile(r"\b[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}\b")
FRIEND = "friend@example.com"


class Clock:
    """The workers' clock: real time, moved on by what a test sets `now` to."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    @property
    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    @now.setter
    def now(self, moment: datetime) -> None:
        self.offset = moment - datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def worker(sessions, notify_settings, push, clock) -> NotificationWorker:
    return NotificationWorker(sessions, notify_settings, push=push, clock=clock)


def gift_body(amount: int = 2500, **changes: Any) -> dict[str, Any]:
    return {
        "amount_minor": amount,
        "payment": {"card_number": APPROVE},
        "recipient_email": FRIEND,
        "recipient_name": "Sam",
        "message": "Happy birthday! Coffee's on me.",
        "from_name": "Alex",
        **changes,
    }


def give(buyer: Actor, shop, key: str | None = None, **changes: Any):
    return buyer.post(
        f"/api/v1/businesses/{shop.business_id}/gifts", gift_body(**changes), key=key or new_key()
    )


def bought(buyer: Actor, shop, **changes: Any) -> dict[str, Any]:
    response = give(buyer, shop, **changes)
    assert response.status_code == 201, response.text
    gift: dict[str, Any] = response.json()
    return gift


def gift_emails(sink: Sink) -> list[Message]:
    return sink.to(FRIEND)


def plain(message: Message) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def code_in(message: Message) -> str:
    found = CODE.search(plain(message))
    assert found is not None, plain(message)
    return found.group(0)


def claim(actor: Actor, code: str):
    return actor.post("/api/v1/gifts/claim", {"code": code})


def my_gifts(buyer: Actor) -> list[dict[str, Any]]:
    page = buyer.get("/api/v1/me/gifts").json()
    assert page["total"] == len(page["items"])
    items: list[dict[str, Any]] = page["items"]
    return items


def test_a_gift_is_emailed_claimed_and_seen_claimed_by_its_buyer(
    client, worker, sink, shop, customer
):
    verify_email(customer)  # alerts such as "claimed" are emailed to a confirmed address
    gift = bought(customer, shop)
    assert gift["state"] == "scheduled"
    assert gift["amount"]["text"] == "£25.00"
    # Until claimed, the card is in no one's account: the buyer cannot see or spend it.
    assert customer.get("/api/v1/me/gift-cards").json()["items"] == []
    assert customer.get(f"/api/v1/gift-cards/{gift['card_id']}").status_code == 404

    worker.run_once()
    [email] = gift_emails(sink)
    assert email["Subject"] == "Alex sent you a Corner Café gift card"
    text = plain(email)
    assert "holding £25.00" in text
    assert "Happy birthday! Coffee's on me." in text
    code = code_in(email)
    assert f"/claim-gift?code={code}" in text
    html = email.get_body(("html",))
    assert html is not None
    assert code in html.get_content()
    assert [g["state"] for g in my_gifts(customer)] == ["sent"]
    receipts = [m["Subject"] for m in sink.to(customer.email)]
    assert receipts == ["Your gift for Sam: a Corner Café gift card"]

    # Any account may claim it by the code, whatever its email: the code is the proof.
    sam = sign_up(client, email="sam.personal@example.com")
    claimed = claim(sam, code)
    assert claimed.status_code == 200, claimed.text
    assert claimed.json()["balance"]["text"] == "£25.00"
    [card] = sam.get("/api/v1/me/gift-cards").json()["items"]
    assert card["id"] == gift["card_id"]
    assert card["balance"]["minor"] == 2500
    [seen] = my_gifts(customer)
    assert seen["state"] == "claimed"
    assert seen["claimed_at"] is not None

    worker.run_once()  # both are told, once each
    worker.run_once()
    assert [m["Subject"] for m in sink.to(customer.email)][1:] == [
        "Sam claimed your Corner Café gift card"
    ]
    inbox = [i["kind"] for i in sam.get("/api/v1/me/inbox").json()["items"]]
    assert inbox == ["gift_claimed"]
    inbox = [i["kind"] for i in customer.get("/api/v1/me/inbox").json()["items"]]
    assert sorted(inbox) == ["card_bought", "gift_claimed"]
    assert len(gift_emails(sink)) == 1  # the gift email was not sent again


def test_a_code_works_once_and_wrong_codes_change_nothing(client, worker, sink, shop, customer):
    bought(customer, shop)
    worker.run_once()
    code = code_in(gift_emails(sink)[0])
    first, second = sign_up(client), sign_up(client)

    wrong = claim(first, "AAAA-BBBB-CCCC")
    assert wrong.status_code == 400
    assert wrong.json()["type"].endswith("/gift-code-not-valid")
    assert first.get("/api/v1/me/gift-cards").json()["items"] == []

    assert claim(first, code.lower().replace("-", "")).status_code == 200  # as typed
    assert claim(first, code).status_code == 200  # the same account again: the same gift
    used = claim(second, code)
    assert used.status_code == 400
    assert "claimed already" in used.json()["detail"]
    assert second.get("/api/v1/me/gift-cards").json()["items"] == []
    assert len(first.get("/api/v1/me/gift-cards").json()["items"]) == 1


def test_a_scheduled_gift_is_sent_at_its_time_and_only_once(
    client, worker, clock, sink, shop, customer
):
    # Nine in the morning in UTC+2, two days on.
    paris = timezone(timedelta(hours=2))
    at = (clock.now + timedelta(days=2)).astimezone(paris).replace(microsecond=0)
    gift = bought(customer, shop, deliver_at=at.isoformat())
    assert datetime.fromisoformat(gift["deliver_at"]) == at
    assert gift["deliver_at"].endswith("Z")  # answered in UTC, as every time is

    worker.run_once()
    clock.now = at - timedelta(minutes=1)
    worker.run_once()
    assert gift_emails(sink) == []
    assert [g["state"] for g in my_gifts(customer)] == ["scheduled"]

    clock.now = at
    worker.run_once()
    worker.run_once()
    assert len(gift_emails(sink)) == 1
    assert [g["state"] for g in my_gifts(customer)] == ["sent"]


@pytest.mark.parametrize(
    ("deliver_at", "says"),
    [
        (lambda now: (now - timedelta(hours=1)).isoformat(), "has passed"),
        (lambda now: (now + timedelta(days=400)).isoformat(), "at most 366 days"),
        (lambda now: now.replace(tzinfo=None).isoformat(), "timezone"),
    ],
)
def test_a_delivery_time_in_the_past_or_absurdly_far_is_refused_and_charges_nothing(
    client, sessions, shop, customer, deliver_at, says
):
    refused = give(customer, shop, deliver_at=deliver_at(datetime.now(UTC)))
    assert refused.status_code == 422, refused.text
    assert says in refused.text
    assert my_gifts(customer) == []
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(GiftCard)) == 0


def test_the_latest_delivery_time_a_refusal_names_is_accepted(client, shop, customer):
    """A time too far ahead is refused naming the latest one taken: that one is taken."""
    refused = give(customer, shop, deliver_at=(datetime.now(UTC) + timedelta(days=367)).isoformat())
    assert refused.status_code == 422, refused.text
    latest = re.search(r"no later than (\d{4}-\d\d-\d\dT\d\d:\d\dZ)\.", refused.json()["detail"])
    assert latest is not None, refused.text
    assert give(customer, shop, deliver_at=latest[1].replace("Z", "+00:00")).status_code == 201


def test_a_retried_purchase_buys_one_gift_and_a_declined_one_none(client, sessions, shop, customer):
    key = new_key()
    first, again = give(customer, shop, key=key), give(customer, shop, key=key)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    other_body = give(customer, shop, key=key, amount=999)
    assert other_body.status_code == 409
    declined = give(customer, shop, payment={"card_number": "4000000000000002"})
    assert declined.status_code == 402
    assert len(my_gifts(customer)) == 1
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Gift)) == 1


def test_only_a_customer_may_buy_or_claim(client, shop):
    assert give(shop.owner, shop).status_code == 403
    assert claim(shop.cashier, "AAAA-BBBB-CCCC").status_code == 403


def test_a_gift_not_sent_yet_may_be_cancelled_and_its_card_comes_to_the_buyer(
    client, worker, clock, sessions, sink, shop, customer
):
    gift = bought(customer, shop, deliver_at=(clock.now + timedelta(days=3)).isoformat())
    with sessions() as session:
        code = session.get_one(Gift, gift["id"]).code
    cancelled = customer.post(f"/api/v1/me/gifts/{gift['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["state"] == "cancelled"
    assert customer.post(f"/api/v1/me/gifts/{gift['id']}/cancel").status_code == 200
    [card] = customer.get("/api/v1/me/gift-cards").json()["items"]
    assert card["id"] == gift["card_id"]
    assert card["balance"]["minor"] == 2500

    clock.now += timedelta(days=4)
    worker.run_once()
    assert gift_emails(sink) == []
    assert claim(sign_up(client), code).status_code == 400


def test_a_sent_gift_cannot_be_cancelled_nor_someone_elses(client, worker, sink, shop, customer):
    gift = bought(customer, shop)
    worker.run_once()
    refused = customer.post(f"/api/v1/me/gifts/{gift['id']}/cancel")
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("/gift-not-cancellable")
    stranger = sign_up(client)
    assert stranger.post(f"/api/v1/me/gifts/{gift['id']}/cancel").status_code == 404
    assert stranger.get(f"/api/v1/me/gifts/{gift['id']}").status_code == 404
    assert my_gifts(stranger) == []
    assert customer.get("/api/v1/me/gift-cards").json()["items"] == []


def test_a_gift_email_the_mail_server_refuses_is_tried_again_and_sent_once(
    client, sessions, notify_settings, push, clock, sink, shop, customer
):
    bought(customer, shop)
    down = notify_settings.model_copy(update={"smtp_port": 1})  # nothing listens there
    failing = NotificationWorker(
        sessions, notify_settings, email=SmtpSender(down), push=push, clock=clock
    )
    assert failing.run_once().gifts.retrying == 1
    assert gift_emails(sink) == []
    with sessions() as session:
        assert session.scalars(select(Gift)).one().last_error != ""

    working = NotificationWorker(sessions, notify_settings, push=push, clock=clock)
    assert working.run_once().gifts.sent == 0  # not due again yet
    clock.now += timedelta(hours=1)
    assert working.run_once().gifts.sent == 1
    working.run_once()
    assert len(gift_emails(sink)) == 1


def test_value_moves_only_between_ones_own_cards(client, shop, customer):
    mine = buy_card(customer, shop, 1000).json()
    also_mine = buy_card(customer, shop, 500).json()
    someone = sign_up(client)
    theirs = buy_card(someone, shop, 500).json()

    def move(to: str):
        return customer.post(
            f"/api/v1/gift-cards/{mine['id']}/transfers",
            {"to_card_id": to, "amount_minor": 300},
            key=new_key(),
        )

    refused = move(theirs["id"])
    assert refused.status_code == 404
    assert "only between your own cards" in refused.json()["detail"]
    assert someone.get(f"/api/v1/gift-cards/{theirs['id']}").json()["balance"]["minor"] == 500
    assert customer.get(f"/api/v1/gift-cards/{mine['id']}").json()["balance"]["minor"] == 1000
    assert move(also_mine["id"]).status_code == 200
    assert customer.get(f"/api/v1/gift-cards/{also_mine['id']}").json()["balance"]["minor"] == 800


@pytest.mark.postgres
def test_two_workers_at_once_send_each_gift_once(postgres_url, settings, mail):
    sink, port = mail
    engine = make_engine(postgres_url)
    try:
        with engine.begin() as connection:
            upgrade(postgres_url, connection)
        settings = settings.model_copy(
            update={"smtp_host": "127.0.0.1", "smtp_port": port, "notifications_batch": 3}
        )
        with TestClient(create_app(settings, engine=engine)) as client:
            shop = open_shop(client)
            buyer = sign_up(client)
            for amount in range(1000, 1008):
                bought(buyer, shop, amount=amount)
        sessions = make_sessionmaker(engine)
        workers = [NotificationWorker(sessions, settings) for _ in range(2)]
        sent = sum(r.gifts.sent for r in rounds_together(workers, 6))  # type: ignore[attr-defined]
        assert sent == 8
        ids = [m["Message-ID"] for m in gift_emails(sink)]
        assert len(ids) == 8 == len(set(ids))
    finally:
        engine.dispose()


def test_a_buyers_export_holds_their_gifts_and_deletion_erases_them_from_the_gift(
    client, worker, sessions, sink, shop, customer
):
    gift = bought(customer, shop, from_name="Alex Smith")
    export = customer.get("/api/v1/me/export").json()
    [held] = export["gifts_bought"]
    assert held["id"] == gift["id"]
    assert held["recipient_email"] == FRIEND
    assert held["from_name"] == "Alex Smith"
    assert "code" not in held
    with sessions() as session:
        code = session.get_one(Gift, gift["id"]).code
    assert code not in str(export)

    deleted = customer.post("/api/v1/me/deletion", {"password": PASSWORD})
    assert deleted.status_code == 200, deleted.text
    with sessions() as session:
        row = session.get_one(Gift, gift["id"])
        assert (row.buyer_email, row.from_name) == ("", "")
    worker.run_once()  # paid for: it still goes, from no one named
    [email] = gift_emails(sink)
    assert email["Subject"] == "Someone sent you a Corner Café gift card"
    assert customer.email not in plain(email)


def test_a_gift_whose_email_never_goes_fails_and_its_buyer_may_cancel_it(
    client, sessions, notify_settings, push, clock, shop, customer
):
    gift = bought(customer, shop)
    down = notify_settings.model_copy(update={"smtp_port": 1, "notifications_max_attempts": 2})
    failing = NotificationWorker(sessions, down, email=SmtpSender(down), push=push, clock=clock)
    assert failing.run_once().gifts.retrying == 1
    clock.now += timedelta(hours=1)
    assert failing.run_once().gifts.failed == 1
    [seen] = my_gifts(customer)
    assert seen["state"] == "failed"
    with sessions() as session:
        assert session.get_one(Gift, gift["id"]).code == ""  # not kept once given up on

    cancelled = customer.post(f"/api/v1/me/gifts/{gift['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    [card] = customer.get("/api/v1/me/gift-cards").json()["items"]
    assert card["id"] == gift["card_id"]


def test_a_gift_whose_email_cannot_be_made_holds_up_no_other_and_fails_after_its_tries(
    sessions, notify_settings, push, clock, shop, customer, sink, monkeypatch, caplog
):
    """A fault of ours with one gift's email (here its making raises) is that gift's failed
    try: the gifts after it in the batch still go in the same round, and it is given up on
    after the last try, released, with the error kept."""
    broken = bought(customer, shop, recipient_email="broken@example.com")  # first in the batch
    others = [bought(customer, shop) for _ in range(2)]
    made = GiftMailer.email_of

    def email_of(self: GiftMailer, session: Session, gift: Gift) -> OutgoingEmail:
        if gift.id == broken["id"]:
            raise ValueError("a template that cannot be filled")
        return made(self, session, gift)

    monkeypatch.setattr(GiftMailer, "email_of", email_of)
    settings = notify_settings.model_copy(update={"notifications_max_attempts": 2})
    worker = NotificationWorker(sessions, settings, push=push, clock=clock)
    assert worker.run_once().gifts == DeliveryRound(sent=2, retrying=1)
    assert len(gift_emails(sink)) == len(others)
    assert any(r.exc_info and broken["id"] in r.getMessage() for r in caplog.records)
    clock.now += timedelta(hours=1)
    assert worker.run_once().gifts == DeliveryRound(failed=1)
    with sessions() as session:
        gift = session.get_one(Gift, broken["id"])
        assert (gift.status, gift.attempts, gift.claimed_by) == (Delivery.FAILED, 2, None)
        assert gift.last_error == "ValueError: a template that cannot be filled"
        assert gift.code == ""  # not kept once given up on
    assert sink.to("broken@example.com") == []
    assert [g["state"] for g in my_gifts(customer)].count("failed") == 1


def test_a_gift_to_ones_own_address_sends_one_email_that_is_its_receipt(
    worker, sink, shop, customer
):
    """An account's gift to its own address (in other letters, too) is a card for oneself:
    its email is the purchase's receipt, and no second one promises to email "them" or to
    let it be cancelled."""
    gift = bought(customer, shop, recipient_email=customer.email.upper(), amount=1200)
    worker.run_once()
    worker.run_once()
    mine = [m for m in sink.receipts() if same_address(m["X-Rcpt"], customer.email)]
    assert [m["Subject"] for m in mine] == ["Your Corner Café gift card"]
    text = plain(mine[0])
    assert f"Paid: £12.00 (12.00 GBP). Gift reference: {gift['id']}." in text
    assert "cancel" not in text


def test_guessing_codes_is_slowed_down(client, customer):
    answers = [claim(customer, f"AAAA-BBBB-{n:04d}").status_code for n in range(11)]
    assert answers == [400] * 10 + [429]


def at_once(count: int, request: Callable[[], Any]) -> list[Any]:
    """`request()` from `count` threads released together; their answers."""
    barrier = threading.Barrier(count)

    def go(_: int) -> Any:
        barrier.wait()
        return request()

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(go, range(count)))


def test_one_account_claiming_a_gift_twice_at_once_gets_it_both_times(
    client, worker, sink, shop, customer
):
    """A double-tapped claim (two requests at once from one account): both answers say the
    gift is theirs — the second is a retry, not "claimed already" — and the card is theirs
    once."""
    for round_ in range(3):  # a race: a few rounds so both requests read before either writes
        gift = bought(customer, shop)
        worker.run_once()
        code = code_in(gift_emails(sink)[round_])
        friend = sign_up(client)
        answers = at_once(3, partial(claim, friend, code))
        assert [a.status_code for a in answers] == [200] * 3, [a.text for a in answers]
        assert {a.json()["card_id"] for a in answers} == {gift["card_id"]}
        assert [c["id"] for c in friend.get("/api/v1/me/gift-cards").json()["items"]] == [
            gift["card_id"]
        ]


def test_a_gift_cancelled_twice_at_once_is_cancelled_and_both_answers_say_so(
    client, clock, shop, customer
):
    """A double-tapped cancel: both answers show the gift cancelled (the second is a retry,
    not "cannot be cancelled"), and its card is in the buyer's account once."""
    for _ in range(3):  # a race: a few rounds so both requests read before either writes
        gift = bought(customer, shop, deliver_at=(clock.now + timedelta(days=3)).isoformat())
        cancel = f"/api/v1/me/gifts/{gift['id']}/cancel"
        answers = at_once(3, partial(customer.post, cancel))
        assert [a.status_code for a in answers] == [200] * 3, [a.text for a in answers]
        assert {a.json()["state"] for a in answers} == {"cancelled"}
        mine = [c["id"] for c in customer.get("/api/v1/me/gift-cards").json()["items"]]
        assert mine.count(gift["card_id"]) == 1


def test_a_purchase_sent_twice_at_once_with_its_key_buys_one_gift(client, sessions, shop, customer):
    key = new_key()
    first, second = at_once(2, lambda: give(customer, shop, key=key))
    assert first.status_code == second.status_code == 201, first.text
    assert first.json() == second.json()
    assert [g["id"] for g in my_gifts(customer)] == [first.json()["id"]]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Gift)) == 1
        assert session.scalar(select(func.count()).select_from(GiftCard)) == 1
