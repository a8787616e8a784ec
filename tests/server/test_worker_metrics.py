"""The workers' metrics (`tillpoint_worker_*`), counted where the work is done: what a round
sent, retried and gave up by kind, the events it read, the backlog it left and how its
rounds went. Metrics are the process's, so each test reads what moved while it ran.
tests/e2e/test_metrics_of_rounds.py scrapes them from the real `tillpoint server worker`."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from server.app import create_app
from server.notifications import NotificationWorker
from server.notifications.models import Channel, Delivery, Notification
from server.outbox import Rounds
from server.webhooks.worker import WebhookWorker
from tests.server.api import APPROVE, buy_card, new_key, open_shop, sign_up
from tests.server.receiver import Receiver, receiving
from tests.server.samples import Moved, value


@pytest.fixture
def notify_settings(notify_settings):
    """Mail to the test's SMTP server; webhooks to its receiver on loopback."""
    return notify_settings.model_copy(update={"webhooks_allow_private_urls": True})


@pytest.fixture
def client(notify_settings, engine, push) -> Iterator[TestClient]:
    with TestClient(create_app(notify_settings, engine=engine, push=push)) as client:
        yield client


def test_a_round_counts_what_it_sent_by_channel_and_the_events_it_read(
    client, sessions, notify_settings, push, sink
):
    shop, customer = open_shop(client), sign_up(client)
    worker = NotificationWorker(sessions, notify_settings, push=push)
    worker.run_once()  # the sign-ups' account mail
    assert customer.post("/api/v1/me/push-devices", {"token": "fcm-token-1"}).status_code == 201
    moved = Moved()
    assert buy_card(customer, shop, 2500).status_code == 201
    done = worker.run_once()
    assert done.delivery.sent == 3  # the email, the push message and the inbox item
    assert [m["Subject"] for m in sink.to(customer.email)] == ["Your Corner Café gift card"]
    assert moved("tillpoint_worker_deliveries_total", kind="email", outcome="sent") == 1
    assert moved("tillpoint_worker_deliveries_total", kind="inbox", outcome="sent") == 1
    assert moved("tillpoint_worker_deliveries_total", kind="push", outcome="sent") == 1
    assert moved("tillpoint_worker_deliveries_total", kind="push", outcome="retrying") == 0
    assert moved("tillpoint_worker_events_read_total", worker="notifications") == done.events > 0


def test_a_retry_and_a_try_given_up_are_counted_apart(
    client, sessions, notify_settings, push, sink
):
    shop, customer = open_shop(client), sign_up(client)
    settings = notify_settings.model_copy(update={"notifications_max_attempts": 2})
    now = [datetime.now(UTC)]
    worker = NotificationWorker(sessions, settings, push=push, clock=lambda: now[0])
    worker.run_once()
    assert customer.post("/api/v1/me/push-devices", {"token": "fcm-token-2"}).status_code == 201
    push.fail = 5
    moved = Moved()
    assert buy_card(customer, shop, 1000).status_code == 201
    worker.run_once()
    assert moved("tillpoint_worker_deliveries_total", kind="push", outcome="retrying") == 1
    assert moved("tillpoint_worker_deliveries_total", kind="push", outcome="failed") == 0
    now[0] += timedelta(minutes=5)
    worker.run_once()
    assert moved("tillpoint_worker_deliveries_total", kind="push", outcome="retrying") == 1
    assert moved("tillpoint_worker_deliveries_total", kind="push", outcome="failed") == 1
    assert moved("tillpoint_worker_deliveries_total", kind="push", outcome="sent") == 0


def test_a_gift_email_is_counted_as_its_own_kind(client, sessions, notify_settings, sink):
    shop, customer = open_shop(client), sign_up(client)
    worker = NotificationWorker(sessions, notify_settings)
    worker.run_once()
    gift = customer.post(
        f"/api/v1/businesses/{shop.business_id}/gifts",
        {
            "amount_minor": 2500,
            "payment": {"card_number": APPROVE},
            "recipient_email": "sam@example.com",
            "recipient_name": "Sam",
        },
        key=new_key(),
    )
    assert gift.status_code == 201, gift.text
    moved = Moved()
    assert worker.run_once().gifts.sent == 1
    assert [m["Subject"] for m in sink.to("sam@example.com")] == [
        f"{customer.email} sent you a Corner Café gift card"
    ]
    assert moved("tillpoint_worker_deliveries_total", kind="gift_email", outcome="sent") == 1
    assert moved("tillpoint_worker_deliveries_total", kind="email", outcome="sent") == 1  # receipt
    assert value("tillpoint_worker_backlog", kind="gift_email") == 0


def test_the_backlog_is_what_is_due_and_not_sent_and_how_long_it_waited(
    client, sessions, notify_settings, sink
):
    """With a batch of one, a round leaves due mail behind: the gauges say how much, and
    for how long the first of it has been due, as the table says."""
    for _ in range(3):
        sign_up(client)  # an email each, to confirm the address
    later = datetime.now(UTC) + timedelta(hours=1)
    settings = notify_settings.model_copy(update={"notifications_batch": 1})
    NotificationWorker(sessions, settings, clock=lambda: later).run_once()
    with sessions() as session:
        rows, first = session.execute(
            select(func.count(), func.min(Notification.next_attempt_at)).where(
                Notification.channel == Channel.EMAIL,
                Notification.status == Delivery.PENDING,
                Notification.next_attempt_at <= later,
            )
        ).one()
    assert rows == 2  # one of the three was sent
    assert value("tillpoint_worker_backlog", kind="email") == 2
    waited = value("tillpoint_worker_backlog_oldest_seconds", kind="email")
    assert waited == (later - first).total_seconds() >= 3600
    assert value("tillpoint_worker_backlog", kind="push") == 0
    assert value("tillpoint_worker_backlog_oldest_seconds", kind="push") == 0

    NotificationWorker(sessions, notify_settings, clock=lambda: later).run_once()
    assert value("tillpoint_worker_backlog", kind="email") == 0
    assert value("tillpoint_worker_backlog_oldest_seconds", kind="email") == 0


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as receiver:
        yield receiver


def test_a_webhook_round_counts_its_deliveries_and_leaves_none_due(
    client, sessions, notify_settings, receiver
):
    shop, customer = open_shop(client), sign_up(client)
    endpoint = shop.owner.post(
        f"/api/v1/businesses/{shop.business_id}/webhook-endpoints",
        {"url": receiver.url, "event_types": ["card.created"]},
    )
    assert endpoint.status_code == 201, endpoint.text
    worker = WebhookWorker(sessions, notify_settings, schedule=[60])
    try:
        moved = Moved()
        receiver.answer(503, "down")
        assert buy_card(customer, shop, 1000).status_code == 201
        worker.run_once()
        assert moved("tillpoint_worker_deliveries_total", kind="webhook", outcome="retrying") == 1
        assert moved("tillpoint_worker_events_read_total", worker="webhooks") >= 1
        assert value("tillpoint_worker_backlog", kind="webhook") == 0  # due in a minute
        assert buy_card(customer, shop, 1200).status_code == 201
        worker.run_once()
        assert moved("tillpoint_worker_deliveries_total", kind="webhook", outcome="sent") == 1
    finally:
        worker.stop()


class Scripted(Rounds):
    """A worker whose rounds fail as told, and which stops after its last."""

    def __init__(self, name: str, outcomes: list[bool]) -> None:
        super().__init__(name, logging.getLogger("tests.rounds"))
        self.outcomes = outcomes

    def run_once(self) -> object:
        if len(self.outcomes) == 1:
            self.stop()
        if not self.outcomes.pop(0):
            raise RuntimeError("a scripted failure")
        return None


def test_rounds_on_the_schedule_count_failures_successes_and_the_last_success(tmp_path):
    name = "scripted-worker"
    started, moved = time.time(), Moved()
    beat = tmp_path / "heartbeat"
    Scripted(name, [False, True, False]).run(0, heartbeat=beat)
    assert moved("tillpoint_worker_rounds_total", worker=name) == 1
    assert moved("tillpoint_worker_round_failures_total", worker=name) == 2
    assert moved("tillpoint_worker_round_duration_seconds_count", worker=name) == 1
    assert value("tillpoint_worker_last_success_timestamp_seconds", worker=name) >= started
    assert beat.exists()


def test_a_worker_that_never_finished_a_round_has_no_last_success():
    name, moved = "failing-worker", Moved()
    Scripted(name, [False]).run(0)
    assert moved("tillpoint_worker_round_failures_total", worker=name) == 1
    assert value("tillpoint_worker_last_success_timestamp_seconds", worker=name) == 0
