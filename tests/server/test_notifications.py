"""Notifications: the event log read into the outbox, delivered by email to a real SMTP
server on loopback, to the in-app inbox and by a fake push transport; preferences; nothing
twice."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage as Message
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from server.app import create_app
from server.billing.run import run_billing
from server.db import make_engine, make_sessionmaker
from server.devices.models import Incident
from server.migrate import upgrade
from server.notifications import (
    Channel,
    Delivery,
    FakePushTransport,
    InboxItem,
    Notification,
    NotificationCursor,
    NotificationKind,
    NotificationWorker,
)
from server.notifications.channels import OutgoingEmail, PushMessage, PushOutcome
from server.notifications.delivery import Deliverer
from server.outbox.rounds import DeliveryRound, summary
from sync.wire import IncidentKind
from tests.server.api import buy_card, open_shop, sign_up, verify_email
from tests.server.mailbox import mailing_client, notification_worker  # noqa: F401 - fixtures
from tests.server.samples import Moved, value
from tests.server.together import rounds_together


def _bought(customer, shop, amount: int = 1000) -> dict[str, Any]:
    response = buy_card(customer, shop, amount)
    assert response.status_code == 201, response.text
    card: dict[str, Any] = response.json()
    return card


def _inbox(person, kind: str) -> list[dict[str, Any]]:
    """The person's inbox items of `kind`, newest first."""
    items: list[dict[str, Any]] = person.get("/api/v1/me/inbox").json()["items"]
    return [item for item in items if item["kind"] == kind]


def _body(message: Message, subtype: str) -> str:
    for part in message.walk():
        if part.get_content_type() == f"text/{subtype}":
            return str(part.get_content())
    raise AssertionError(f"no text/{subtype} part")


def test_a_card_bought_is_emailed_and_in_the_inbox(client, worker, sink, shop, customer):
    worker.run_once()  # the sign-ups' account mail
    card = _bought(customer, shop, 2500)
    done = worker.run_once()
    assert done.delivery.sent == 2  # the email and the inbox item

    [message] = sink.to(customer.email)
    assert message["Subject"] == "Your Corner Café gift card"
    assert "25.00 GBP" in _body(message, "plain")
    assert card["id"] in _body(message, "plain")
    assert "<h1>Your Corner Café gift card</h1>" in _body(message, "html")

    inbox = customer.get("/api/v1/me/inbox").json()
    assert inbox["unread"] == 1
    [item] = inbox["items"]
    assert item["kind"] == "card_bought"
    assert item["read_at"] is None

    read = customer.post(f"/api/v1/me/inbox/{item['id']}/read")
    assert read.status_code == 200
    assert read.json()["read_at"] is not None
    assert customer.get("/api/v1/me/inbox").json()["unread"] == 0
    assert customer.get("/api/v1/me/inbox?unread_only=true").json()["items"] == []


def test_someone_elses_inbox_item_is_not_found(client, worker, shop, customer):
    _bought(customer, shop)
    worker.run_once()
    [item] = customer.get("/api/v1/me/inbox").json()["items"]
    other = sign_up(client)
    response = other.post(f"/api/v1/me/inbox/{item['id']}/read")
    assert response.status_code == 404
    assert response.json()["type"].endswith("/inbox-item-not-found")


def test_the_inbox_comes_in_pages_newest_first(client, worker, shop, customer):
    for amount in (1000, 1100, 1200, 1300, 1400):
        _bought(customer, shop, amount)
    worker.run_once()
    every = customer.get("/api/v1/me/inbox").json()
    assert (every["total"], every["next_offset"], every["unread"]) == (5, None, 5)
    pages, offset = [], 0
    while offset is not None:
        page = customer.get("/api/v1/me/inbox", params={"offset": offset, "limit": 2}).json()
        assert page["total"] == 5
        assert page["unread"] == 5  # of the whole inbox, on every page
        pages.append([item["id"] for item in page["items"]])
        offset = page["next_offset"]
    assert pages == [[i["id"] for i in every["items"]][n : n + 2] for n in (0, 2, 4)]
    customer.post(f"/api/v1/me/inbox/{every['items'][0]['id']}/read")
    unread = customer.get("/api/v1/me/inbox", params={"unread_only": True, "limit": 3}).json()
    assert (unread["total"], unread["next_offset"], len(unread["items"])) == (4, 3, 3)
    refused = customer.get("/api/v1/me/inbox", params={"offset": -1})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "query.offset"


def test_a_worker_says_what_its_rounds_did_and_why_mail_waits(client, sessions, settings, caplog):
    """At 3 a.m. the worker's log says what each busy round did, and why a message was not
    sent (here: no mail server set on the worker), not only once it is given up."""
    sign_up(client)  # the address's confirmation code: account mail, by email
    worker = NotificationWorker(sessions, settings)  # no TILLPOINT_SMTP_HOST
    with caplog.at_level(logging.INFO):
        done = worker.run_once()
    assert summary("notifications", done) == (
        "notifications round: 0 new events read; 0 sent, 1 to try again, 0 given up"
    )
    assert summary("notifications", worker.run_once()) == ""  # nothing due: nothing to say
    [why] = [r.getMessage() for r in caplog.records if "not sent on try" in r.getMessage()]
    assert "email_verification by email" in why
    assert "no mail server is set (TILLPOINT_SMTP_HOST)" in why


def test_a_redemption_sends_a_receipt_and_a_low_balance_notice(
    client, worker, sink, shop, customer
):
    verify_email(customer)  # alerts are emailed to a confirmed address only
    card = _bought(customer, shop, 1000)
    worker.run_once()
    assert shop.redeem(250, card_id=card["id"]).status_code == 200
    worker.run_once()
    assert [m["Subject"] for m in sink.to(customer.email)][1:] == [
        "Receipt: 2.50 GBP at Corner Café"
    ]

    assert shop.redeem(400, card_id=card["id"]).status_code == 200  # 3.50 left, under 5.00
    worker.run_once()
    subjects = [m["Subject"] for m in sink.to(customer.email)][2:]
    assert sorted(subjects) == [
        "Receipt: 4.00 GBP at Corner Café",
        "Your Corner Café gift card is running low",
    ]
    assert "3.50 GBP" in _body(sink.to(customer.email)[-1], "plain")


def test_preferences_turn_low_balance_emails_off_but_never_receipts(
    client, worker, sink, shop, customer
):
    verify_email(customer)
    listed = customer.get("/api/v1/me/notification-preferences").json()
    assert {
        "kind": "card_redeemed",
        "channel": "email",
        "enabled": True,
        "required": True,
    } in listed
    assert all(p["enabled"] for p in listed)

    refused = customer.client.put(
        "/api/v1/me/notification-preferences",
        json={
            "preferences": [
                {"kind": "low_balance", "channel": "email", "enabled": False},
                {"kind": "card_redeemed", "channel": "email", "enabled": False},
            ]
        },
        headers=customer.headers,
    )
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("/notification-required")

    changed = customer.client.put(
        "/api/v1/me/notification-preferences",
        json={"preferences": [{"kind": "low_balance", "channel": "email", "enabled": False}]},
        headers=customer.headers,
    )
    assert changed.status_code == 200
    assert {"kind": "low_balance", "channel": "email", "enabled": False, "required": False} in (
        changed.json()
    )

    card = _bought(customer, shop, 1000)
    assert shop.redeem(900, card_id=card["id"]).status_code == 200
    worker.run_once()
    subjects = sorted(m["Subject"] for m in sink.to(customer.email))
    assert subjects == ["Receipt: 9.00 GBP at Corner Café", "Your Corner Café gift card"]
    kinds = sorted(i["kind"] for i in customer.get("/api/v1/me/inbox").json()["items"])
    assert kinds == ["card_bought", "card_redeemed", "low_balance"]  # the inbox still has it


def test_reading_the_log_again_writes_nothing_twice(client, worker, sessions, shop, customer):
    worker.run_once()  # the sign-ups' account mail
    card = _bought(customer, shop, 1000)
    shop.redeem(100, card_id=card["id"])
    worker.run_once()
    with sessions() as session:
        before = session.scalar(select(func.count()).select_from(Notification))
        session.execute(update(NotificationCursor).values(position=0))  # read it all again
        session.commit()
    again = worker.run_once()
    assert again.events > 0
    assert again.delivery.sent == 0
    with sessions() as session:
        assert (
            session.scalar(select(func.count()).select_from(Notification)) == before == 9
        )  # 4 of the card, 3 sign-ups' account mail, 2 of the shop's subscription starting
        assert session.scalar(select(func.count()).select_from(InboxItem)) == 3


@pytest.mark.parametrize("redemptions", [49, 120])
def test_a_card_redeemed_many_times_at_once_gets_one_receipt_each(
    client, worker, sessions, shop, customer, redemptions
):
    """A busy card's every event finds the same recent transfers: a round's batch of them
    once planned thousands of copies, one INSERT past the database's parameter limit, and
    the round failed every time without moving on (the benchmark's server spent most of
    its CPU on that). Then each event read only the first 50 of the minute's transfers, so
    a card redeemed more often than that in a minute lost the rest of its receipts."""
    worker.run_once()  # the sign-ups' account mail
    card = _bought(customer, shop, 10_000)
    for _ in range(redemptions):
        assert shop.redeem(1, card_id=card["id"]).status_code == 200
    events = 0
    while done := worker.run_once().events:  # a batch of 100 events a round
        events += done
    assert events == redemptions + 1
    with sessions() as session:
        receipts = session.scalars(
            select(Notification.source_id).where(
                Notification.kind == "card_redeemed", Notification.channel == "inbox"
            )
        ).all()
        items = session.scalar(
            select(func.count()).select_from(InboxItem).where(InboxItem.kind == "card_redeemed")
        )
    assert len(receipts) == len(set(receipts)) == redemptions == items


def test_an_incident_tells_the_business_owner(client, worker, sessions, shop):
    with sessions() as session:
        session.add(
            Incident(
                business_id=shop.business_id,
                kind=next(iter(IncidentKind)),
                subject_id="card1234567",
                event_id="e1",
                currency="GBP",
                detail="A till sold more than the card held.",
            )
        )
        session.commit()
    worker.run_once()
    [item] = _inbox(shop.owner, "incident_opened")
    assert "A till sold more than the card held." in item["body"]


NOV = date(2026, 11, 1)
DECLINE = "4000000000000002"  # the simulated gateway declines it


@pytest.fixture
def billed(notify_settings, engine, push) -> Iterator[TestClient]:
    """The app with its billing clock on 1 November 2026."""
    with TestClient(create_app(notify_settings, engine=engine, push=push, today=lambda: NOV)) as c:
        yield c


def test_a_failed_billing_charge_tells_the_owner_once(billed, worker, sessions, sink):
    shop = open_shop(billed)
    base = f"/api/v1/businesses/{shop.business_id}"
    card = shop.owner.put(f"{base}/subscription/payment-card", {"card_number": DECLINE})
    assert card.status_code == 200, card.text
    worker.run_once()  # account mail, and the notice that the subscription started
    [started] = sink.to(shop.owner.email)
    assert started["Subject"] == "Billing notice for Corner Café"
    assert "Subscribed on the Starter plan" in _body(started, "plain")

    run_billing(sessions, NOV, billed.app.state.gateway)  # the month's invoice is declined
    worker.run_once()
    [invoice] = shop.owner.get(f"{base}/invoices").json()["items"]
    assert invoice["status"] == "open"
    mails = {m["Subject"]: m for m in sink.to(shop.owner.email)[1:]}
    assert sorted(mails) == [
        "New Tillpoint invoice for Corner Café",
        "Payment failed for Corner Café",
    ]
    failed = _body(mails["Payment failed for Corner Café"], "plain")
    assert f"Payment of invoice {invoice['id']} failed" in failed
    assert "We will try again on 2026-11-02." in failed
    assert "then the Owner tab, and type a payment card's number" in failed  # what to do
    assert "If the card on file no longer works" in failed
    assert "/api/v1" not in failed  # a person's words, no API calls
    assert "{" not in failed  # nor a placeholder left unfilled
    [item] = [
        i for i in _inbox(shop.owner, "billing_notice") if i["title"].startswith("Payment failed")
    ]
    assert f"invoice {invoice['id']}" in item["body"]

    with sessions() as session:
        rows = session.scalar(select(func.count()).select_from(Notification))
    run_billing(sessions, NOV, billed.app.state.gateway)  # the same day again: nothing new
    again = worker.run_once()
    assert again.delivery.sent == 0
    assert len(sink.to(shop.owner.email)) == 3
    assert len(_inbox(shop.owner, "billing_notice")) == 3  # started, invoice, payment failed
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Notification)) == rows


def test_billing_notices_cannot_be_turned_off(client, shop):
    listed = shop.owner.get("/api/v1/me/notification-preferences").json()
    for channel in ("email", "inbox", "push"):
        assert {
            "kind": "billing_notice",
            "channel": channel,
            "enabled": True,
            "required": True,
        } in listed
    refused = shop.owner.put(
        "/api/v1/me/notification-preferences",
        {"preferences": [{"kind": "billing_notice", "channel": "email", "enabled": False}]},
    )
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("/notification-required")


def test_a_failed_push_is_tried_again_later_and_sent_once(
    client, sessions, notify_settings, push, shop, customer
):
    assert customer.post("/api/v1/me/push-devices", {"token": "fcm-token-1"}).status_code == 201
    now = [datetime.now(UTC)]
    worker = NotificationWorker(sessions, notify_settings, push=push, clock=lambda: now[0])
    push.fail = 1
    _bought(customer, shop)
    first = worker.run_once()
    assert first.delivery.retrying == 1
    assert push.sent == []
    with sessions() as session:
        row = session.scalars(
            select(Notification).where(Notification.channel == Channel.PUSH)
        ).one()
        assert row.attempts == 1
        assert row.status is Delivery.PENDING
        assert row.next_attempt_at == now[0] + timedelta(seconds=30)
        assert "told to fail" in row.last_error

    assert worker.run_once().delivery.sent == 0  # not due yet
    now[0] += timedelta(seconds=31)
    assert worker.run_once().delivery.sent == 1
    [message] = push.sent
    assert message.tokens == ("fcm-token-1",)
    assert message.title == "Your Corner Café gift card"
    now[0] += timedelta(hours=1)
    assert worker.run_once().delivery.sent == 0


def test_a_notification_is_given_up_after_its_last_try(
    client, sessions, notify_settings, shop, customer
):
    settings = notify_settings.model_copy(update={"notifications_max_attempts": 2})
    push = FakePushTransport(fail=5)
    assert customer.post("/api/v1/me/push-devices", {"token": "fcm-token-2"}).status_code == 201
    now = [datetime.now(UTC)]
    worker = NotificationWorker(sessions, settings, push=push, clock=lambda: now[0])
    _bought(customer, shop)
    worker.run_once()
    now[0] += timedelta(minutes=5)
    assert worker.run_once().delivery.failed == 1
    with sessions() as session:
        row = session.scalars(
            select(Notification).where(Notification.channel == Channel.PUSH)
        ).one()
        assert row.status is Delivery.FAILED
        assert row.attempts == 2


BROKEN_PHONE = "fcm-broken"
ERRORS = {
    Channel.EMAIL: "ValueError: a template that cannot be filled",
    Channel.PUSH: "RuntimeError: an adapter's own bug",
}


class FaultyPush(FakePushTransport):
    """A push adapter with a bug: it raises what no adapter should (not a `DeliveryError`)
    for a message to `BROKEN_PHONE`."""

    def send(self, message: PushMessage) -> PushOutcome:
        if BROKEN_PHONE in message.tokens:
            raise RuntimeError("an adapter's own bug")
        return super().send(message)


@pytest.mark.parametrize("channel", [Channel.EMAIL, Channel.PUSH])
def test_a_notification_that_cannot_be_sent_holds_up_no_other_and_fails_after_its_tries(
    client, sessions, notify_settings, shop, sink, monkeypatch, caplog, channel
):
    """A fault of ours with one notification (its email cannot be made, or the push adapter
    raises something unexpected) is that notification's failed try: the others in the batch
    are still sent in the same round and the round's metrics count them; it is released,
    tried again later and given up after its last try, with the error kept."""
    broken, *others = customers = [sign_up(client) for _ in range(3)]
    for customer in customers:
        breaks = customer is broken and channel is Channel.PUSH
        phone = BROKEN_PHONE if breaks else f"fcm-{customer.id}"
        assert customer.post("/api/v1/me/push-devices", {"token": phone}).status_code == 201
    settings = notify_settings.model_copy(update={"notifications_max_attempts": 2})
    now, push = [datetime.now(UTC)], FaultyPush()
    worker = NotificationWorker(sessions, settings, push=push, clock=lambda: now[0])
    worker.run_once()  # the sign-ups' account mail
    if channel is Channel.EMAIL:
        made = Deliverer._email_of

        def email_of(self: Deliverer, job: Any) -> OutgoingEmail:
            if job.address == broken.email:
                raise ValueError("a template that cannot be filled")
            return made(self, job)

        monkeypatch.setattr(Deliverer, "_email_of", email_of)
    for customer in customers:  # the broken one's first in the batch
        _bought(customer, shop)

    moved = Moved()
    done = worker.run_once()
    assert done.delivery == DeliveryRound(sent=8, retrying=1)  # an email, push, inbox item each
    other = Channel.PUSH if channel is Channel.EMAIL else Channel.EMAIL
    assert moved("tillpoint_worker_deliveries_total", kind=channel, outcome="sent") == 2
    assert moved("tillpoint_worker_deliveries_total", kind=channel, outcome="retrying") == 1
    assert moved("tillpoint_worker_deliveries_total", kind=other, outcome="sent") == 3
    assert moved("tillpoint_worker_deliveries_total", kind="inbox", outcome="sent") == 3
    assert moved("tillpoint_worker_events_read_total", worker="notifications") == done.events
    assert value("tillpoint_worker_backlog", kind=channel) == 0  # not due again yet
    pushed = [token for message in push.sent for token in message.tokens]
    if channel is Channel.EMAIL:
        assert [c for c in customers if sink.to(c.email)] == others
    else:
        assert sorted(pushed) == sorted(f"fcm-{c.id}" for c in others)
    with sessions() as session:
        row = session.scalars(
            select(Notification).where(
                Notification.user_id == broken.id,
                Notification.kind == NotificationKind.CARD_BOUGHT,
                Notification.channel == channel,
            )
        ).one()
        assert (row.status, row.attempts, row.claimed_by) == (Delivery.PENDING, 1, None)
        assert row.last_error == ERRORS[channel]
        broken_id = row.id
    assert any(
        r.exc_info and f"notification {broken_id} " in r.getMessage() for r in caplog.records
    )

    now[0] += timedelta(minutes=5)
    moved = Moved()
    assert worker.run_once().delivery == DeliveryRound(failed=1)
    assert moved("tillpoint_worker_deliveries_total", kind=channel, outcome="failed") == 1
    with sessions() as session:
        row = session.get_one(Notification, broken_id)
        assert (row.status, row.attempts, row.claimed_by) == (Delivery.FAILED, 2, None)
        assert row.last_error == ERRORS[channel]


@pytest.mark.postgres
def test_two_workers_at_once_deliver_each_notification_once(postgres_url, settings, mail):
    sink, port = mail
    engine = make_engine(postgres_url)
    try:
        with engine.begin() as connection:
            upgrade(postgres_url, connection)
        settings = settings.model_copy(
            update={"smtp_host": "127.0.0.1", "smtp_port": port, "notifications_batch": 7}
        )
        with TestClient(create_app(settings, engine=engine)) as client:
            shop = open_shop(client)
            customers = [sign_up(client) for _ in range(4)]
            for customer in customers:
                for amount in (500, 700, 900, 1100, 1300):
                    assert buy_card(customer, shop, amount).status_code == 201
        sessions = make_sessionmaker(engine)
        workers = [NotificationWorker(sessions, settings) for _ in range(2)]
        rounds = [r.delivery.sent for r in rounds_together(workers, 20)]

        # 20 cards: an email and an inbox item each; 6 sign-ups: an account mail each; the
        # shop's subscription starting: an email and an inbox item to its owner
        assert sum(rounds) == 48
        ids = [m["Message-ID"] for m in sink.receipts()]
        assert len(ids) == 21 == len(set(ids))
        for customer in customers:
            assert len(sink.to(customer.email)) == 5
        with sessions() as session:
            assert session.scalar(select(func.count()).select_from(InboxItem)) == 21
            statuses = set(session.scalars(select(Notification.status)))
            assert statuses == {Delivery.SENT}
    finally:
        engine.dispose()
