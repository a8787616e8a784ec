"""Webhooks: a business owner's endpoints, deliveries from the event log to a real receiver
on loopback, signed as Standard Webhooks says (checked with the standardwebhooks package),
retried on the schedule with an injected clock, disabled on 410 or a whole failed schedule,
resent, secrets rotated with overlap, private addresses refused, nothing sent twice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select, update
from standardwebhooks import Webhook

from server.app import create_app
from server.db import make_engine, make_sessionmaker
from server.migrate import upgrade
from server.notifications import NotificationWorker
from server.outbox import DeliveryRound
from server.settings import Settings
from server.webhooks import delivery as webhook_delivery
from server.webhooks.addresses import RefusedAddress, check_url, resolve
from server.webhooks.models import WebhookAttempt, WebhookCursor, WebhookDelivery
from server.webhooks.signing import new_secret, signed_headers
from server.webhooks.worker import WebhookWorker
from tests.server.api import Actor, Shop, buy_card, open_shop, sign_up
from tests.server.receiver import HANG, Receiver, receiving
from tests.server.together import rounds_together

SCHEDULE = [5, 300, 1800]  # seconds before each retry, for these tests


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def settings(settings):
    return settings.model_copy(
        update={"webhooks_allow_private_urls": True, "webhooks_timeout_seconds": 15}
    )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as receiver:
        yield receiver


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def worker(sessions, settings, clock) -> Iterator[WebhookWorker]:
    worker = WebhookWorker(sessions, settings, clock=clock, schedule=SCHEDULE)
    yield worker
    worker.stop()


def _base(shop: Shop) -> str:
    return f"/api/v1/businesses/{shop.business_id}/webhook-endpoints"


def _register(shop: Shop, url: str, types: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    response = shop.owner.post(
        _base(shop), {"url": url, "event_types": types or ["card.created"], **extra}
    )
    assert response.status_code == 201, response.text
    endpoint: dict[str, Any] = response.json()
    return endpoint


def _patch(actor: Actor, path: str, body: dict[str, Any]):
    return actor.client.patch(path, json=body, headers=actor.headers)


def _bought(customer: Actor, shop: Shop, amount: int = 1000) -> dict[str, Any]:
    response = buy_card(customer, shop, amount)
    assert response.status_code == 201, response.text
    card: dict[str, Any] = response.json()
    return card


def _deliveries(shop: Shop, endpoint: dict[str, Any]) -> list[dict[str, Any]]:
    response = shop.owner.get(f"{_base(shop)}/{endpoint['id']}/deliveries")
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["items"]
    return found


def _detail(shop: Shop, endpoint: dict[str, Any], delivery_id: str) -> dict[str, Any]:
    response = shop.owner.get(f"{_base(shop)}/{endpoint['id']}/deliveries/{delivery_id}")
    assert response.status_code == 200, response.text
    detail: dict[str, Any] = response.json()
    return detail


def test_an_owner_registers_lists_changes_and_disables_endpoints(client, shop):
    types = client.get("/api/v1/webhooks/event-types").json()
    assert {"card.created", "card.balance_changed", "deal.updated", "incident.created"} <= set(
        types
    )
    assert not any(t.startswith(("webhook_endpoint.", "billing_notice.")) for t in types)

    created = _register(
        shop, "https://hooks.example.com/tillpoint", ["card.created"], description="our CRM"
    )
    assert created["secret"].startswith("whsec_")
    Webhook(created["secret"])  # a secret the package takes
    assert created["status"] == "enabled"

    [listed] = shop.owner.get(_base(shop)).json()["items"]
    assert listed["url"] == "https://hooks.example.com/tillpoint"
    assert listed["description"] == "our CRM"
    assert "secret" not in listed

    path = f"{_base(shop)}/{created['id']}"
    changed = _patch(
        shop.owner,
        path,
        {"event_types": ["card.balance_changed", "deal.created"], "enabled": False},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["event_types"] == ["card.balance_changed", "deal.created"]
    assert changed.json()["status"] == "disabled"
    assert changed.json()["disabled_reason"] == "disabled by its owner"
    again = _patch(shop.owner, path, {"enabled": True}).json()
    assert again["status"] == "enabled"
    assert again["disabled_reason"] == ""
    secret = shop.owner.get(path + "/secret").json()
    assert secret == {
        "secret": created["secret"],
        "previous_secret": None,
        "previous_secret_expires_at": None,
    }


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://127.0.0.1:9000/hooks", "loopback, private or reserved"),
        ("https://10.1.2.3/hooks", "loopback, private or reserved"),
        ("https://192.168.1.20/hooks", "loopback, private or reserved"),
        ("https://100.64.0.1/hooks", "loopback, private or reserved"),
        ("https://169.254.169.254/latest/meta-data", "loopback, private or reserved"),
        ("https://[::1]/hooks", "loopback, private or reserved"),
        ("https://[fd00::1]/hooks", "loopback, private or reserved"),
        ("https://localhost/hooks", "this machine"),
        ("ftp://hooks.example.com/", "https://"),
        ("https://user:pw@hooks.example.com/", "credentials"),
        ("https://hooks.example.com:99999/", "port"),
        ("http://[::1/hooks", "not a URL"),
        ("https://" + "a" * 70 + ".example.com/", "not a valid host name"),
    ],
)
def test_urls_the_server_may_not_call_are_refused(url, says):
    with pytest.raises(RefusedAddress, match=says):
        check_url(url, allow_private=False)


def test_public_addresses_pass_and_private_ones_only_when_allowed():
    check_url("https://93.184.215.14/hooks", allow_private=False)
    check_url("http://127.0.0.1:9000/hooks", allow_private=True)
    with pytest.raises(RefusedAddress, match=r"localhost \((127\.0\.0\.1|::1)\)"):
        resolve("localhost", 80, allow_private=False)  # a name is checked for what it resolves to
    assert str(resolve("localhost", 80, allow_private=True)) in ("127.0.0.1", "::1")


def test_the_api_refuses_a_private_url_in_production_and_says_why(tmp_path, engine):
    production = Settings(
        data_dir=tmp_path / "data",
        argon2_time_cost=1,
        argon2_memory_kib=64,
        billing_interval_seconds=0,
        notifications_interval_seconds=0,
        webhooks_interval_seconds=0,
    )
    with TestClient(create_app(production, engine=engine)) as client:
        shop = open_shop(client)
        response = shop.owner.post(
            _base(shop), {"url": "http://127.0.0.1:9000/hooks", "event_types": ["card.created"]}
        )
        assert response.status_code == 422, response.text
        assert response.json()["type"].endswith("/webhook-url-refused")
        assert "public addresses only" in response.json()["detail"]
        assert shop.owner.get(_base(shop)).json()["items"] == []


def test_unknown_event_types_are_refused_and_say_where_to_look(client, shop):
    response = shop.owner.post(
        _base(shop), {"url": "https://hooks.example.com/", "event_types": ["card.sold"]}
    )
    assert response.status_code == 422
    assert response.json()["type"].endswith("/unknown-event-type")
    assert "/webhooks/event-types" in response.json()["detail"]
    assert shop.owner.get(_base(shop)).json()["items"] == []


def test_a_purchase_is_delivered_signed_as_the_spec_says(client, worker, receiver, shop, customer):
    endpoint = _register(shop, receiver.url, ["card.created"])
    card = _bought(customer, shop, 2500)
    done = worker.run_once()
    assert done.delivery.sent == 1

    [received] = receiver.received
    assert received.verified_by(endpoint["secret"])
    assert not received.verified_by(new_secret())
    body = received.json()
    assert body["type"] == "card.created"
    assert body["data"]["id"] == card["id"]
    assert body["data"]["business_id"] == shop.business_id
    assert received.headers["webhook-id"].startswith("msg_")
    assert received.headers["content-type"] == "application/json"

    [delivery] = _deliveries(shop, endpoint)
    assert delivery["status"] == "sent"
    assert delivery["message_id"] == received.headers["webhook-id"]
    detail = _detail(shop, endpoint, delivery["id"])
    [attempt] = detail["attempt_log"]
    assert attempt["outcome"] == "succeeded"
    assert attempt["status_code"] == 200
    assert attempt["response_body"] == "ok"
    assert attempt["duration_ms"] >= 0
    assert detail["payload"] == body


def test_a_failed_delivery_is_retried_on_the_schedule_and_each_attempt_logged(
    client, worker, clock, receiver, shop, customer
):
    endpoint = _register(shop, receiver.url)
    receiver.answer(503, "down for maintenance " + "x" * 5000)
    _bought(customer, shop)
    first = worker.run_once()
    assert first.delivery.retrying == 1
    [delivery] = _deliveries(shop, endpoint)
    assert delivery["status"] == "pending"
    assert delivery["last_status_code"] == 503
    due = datetime.fromisoformat(delivery["next_attempt_at"])
    assert due == clock.now + timedelta(seconds=SCHEDULE[0])

    clock.advance(seconds=4)
    assert worker.run_once().delivery.sent == 0  # not due yet
    clock.advance(seconds=2)
    assert worker.run_once().delivery.sent == 1
    assert len(receiver.received) == 2
    first_try, second_try = receiver.received
    assert first_try.headers["webhook-id"] == second_try.headers["webhook-id"]
    assert first_try.body == second_try.body
    assert first_try.headers["webhook-timestamp"] != second_try.headers["webhook-timestamp"]

    attempts = _detail(shop, endpoint, delivery["id"])["attempt_log"]
    assert [(a["outcome"], a["status_code"]) for a in attempts] == [
        ("failed", 503),
        ("succeeded", 200),
    ]
    assert attempts[0]["error"] == "answered 503"
    assert attempts[0]["response_body"].startswith("down for maintenance")
    assert len(attempts[0]["response_body"]) == 2048  # the answer's first 2 KiB
    clock.advance(hours=1)
    assert worker.run_once().delivery.sent == 0
    assert len(receiver.received) == 2


def test_410_gone_disables_the_endpoint_and_tells_its_owner(
    client, sessions, settings, worker, clock, receiver, shop, customer
):
    endpoint = _register(shop, receiver.url)
    receiver.answer(410, "no such hook")
    _bought(customer, shop)
    assert worker.run_once().delivery.retrying == 1  # it waits for the endpoint

    shown = shop.owner.get(f"{_base(shop)}/{endpoint['id']}").json()
    assert shown["status"] == "disabled"
    assert "410 Gone" in shown["disabled_reason"]
    NotificationWorker(sessions, settings).run_once()
    items = shop.owner.get("/api/v1/me/inbox").json()["items"]
    [item] = [i for i in items if i["kind"] != "billing_notice"]  # the subscription started
    assert item["kind"] == "webhook_disabled"
    assert receiver.url in item["body"]
    assert "410 Gone" in item["body"]

    # While disabled nothing is sent; enabled again, what waited goes, and what happens next.
    _bought(customer, shop)
    worker.run_once()
    assert len(receiver.received) == 1
    path = f"{_base(shop)}/{endpoint['id']}"
    assert _patch(shop.owner, path, {"enabled": True}).status_code == 200
    card = _bought(customer, shop)
    clock.now = datetime.now(UTC)  # what waited is due at the API's time
    assert worker.run_once().delivery.sent == 3
    assert card["id"] in {r.json()["data"]["id"] for r in receiver.received[1:]}


def test_a_disabled_endpoints_deliveries_wait_and_go_when_it_is_enabled(
    client, worker, clock, receiver, shop, customer
):
    endpoint = _register(shop, receiver.url)
    receiver.answer(500, "down")
    _bought(customer, shop)
    worker.run_once()
    path = f"{_base(shop)}/{endpoint['id']}"
    assert _patch(shop.owner, path, {"enabled": False}).status_code == 200
    clock.advance(hours=1)
    assert worker.run_once().delivery.sent == 0
    assert len(receiver.received) == 1
    assert _patch(shop.owner, path, {"enabled": True}).status_code == 200
    assert worker.run_once().delivery.sent == 1
    assert len(receiver.received) == 2
    assert receiver.received[0].headers["webhook-id"] == receiver.received[1].headers["webhook-id"]


def test_an_endpoint_failing_for_the_whole_schedule_is_disabled(
    client, sessions, settings, worker, clock, receiver, shop, customer
):
    endpoint = _register(shop, receiver.url)
    for _ in range(len(SCHEDULE) + 1):
        receiver.answer(500, "broken")
    _bought(customer, shop)
    worker.run_once()
    for wait in SCHEDULE:
        clock.advance(seconds=wait)
        worker.run_once()
    assert len(receiver.received) == len(SCHEDULE) + 1

    [delivery] = _deliveries(shop, endpoint)
    assert delivery["status"] == "failed"
    assert delivery["next_attempt_at"] is None
    shown = shop.owner.get(f"{_base(shop)}/{endpoint['id']}").json()
    assert shown["status"] == "disabled"
    assert "a delivery failed all 4 attempts (the last answered 500)" in shown["disabled_reason"]
    NotificationWorker(sessions, settings).run_once()
    kinds = [i["kind"] for i in shop.owner.get("/api/v1/me/inbox").json()["items"]]
    assert [k for k in kinds if k != "billing_notice"] == ["webhook_disabled"]


def test_one_failed_delivery_does_not_disable_an_endpoint_that_works_since(
    client, worker, clock, receiver, shop, customer
):
    endpoint = _register(shop, receiver.url)
    receiver.refuse(_bought(customer, shop)["id"])
    worker.run_once()
    clock.advance(seconds=1)
    _bought(customer, shop)  # answered 200 between the first one's retries
    for wait in SCHEDULE:
        clock.advance(seconds=wait)
        worker.run_once()
    statuses = sorted(d["status"] for d in _deliveries(shop, endpoint))
    assert statuses == ["failed", "sent"]
    assert shop.owner.get(f"{_base(shop)}/{endpoint['id']}").json()["status"] == "enabled"


def test_a_delivery_that_cannot_be_signed_holds_up_no_other_and_fails_after_its_tries(
    client, worker, clock, receiver, shop, customer, monkeypatch, caplog
):
    """A fault of ours with one delivery (here its signing raises) is that delivery's failed
    attempt: the others in the round are still sent; it is logged with its traceback, tried
    again on the schedule and given up after its last try, and its endpoint stays enabled."""
    endpoint = _register(shop, receiver.url)
    broken, *others = [_bought(customer, shop) for _ in range(3)]  # the broken one's first

    def signing(message_id: str, at: datetime, payload: str, secrets: list[str]) -> dict[str, str]:
        if broken["id"] in payload:
            raise RuntimeError("a signing bug")
        return signed_headers(message_id, at, payload, secrets)

    monkeypatch.setattr(webhook_delivery, "signed_headers", signing)
    assert worker.run_once().delivery == DeliveryRound(sent=2, retrying=1)
    assert sorted(_card_ids(receiver.received)) == sorted(c["id"] for c in others)
    for wait in SCHEDULE[:-1]:
        clock.advance(seconds=wait)
        assert worker.run_once().delivery == DeliveryRound(retrying=1)
    clock.advance(seconds=SCHEDULE[-1])
    assert worker.run_once().delivery == DeliveryRound(failed=1)
    clock.advance(hours=1)
    assert worker.run_once().delivery == DeliveryRound()
    assert len(receiver.received) == 2

    [failed] = [d for d in _deliveries(shop, endpoint) if d["status"] != "sent"]
    assert failed["status"] == "failed"
    assert failed["attempts"] == len(SCHEDULE) + 1
    assert "RuntimeError: a signing bug" in failed["last_error"]
    attempts = _detail(shop, endpoint, failed["id"])["attempt_log"]
    assert [a["outcome"] for a in attempts] == ["failed"] * (len(SCHEDULE) + 1)
    assert any(r.exc_info and failed["id"] in r.getMessage() for r in caplog.records)
    assert shop.owner.get(f"{_base(shop)}/{endpoint['id']}").json()["status"] == "enabled"


def test_a_delivery_is_resent_with_its_own_id(client, worker, clock, receiver, shop, customer):
    endpoint = _register(shop, receiver.url)
    _bought(customer, shop)
    worker.run_once()
    [delivery] = _deliveries(shop, endpoint)
    path = f"{_base(shop)}/{endpoint['id']}/deliveries/{delivery['id']}/resend"
    resent = shop.owner.post(path)
    assert resent.status_code == 200, resent.text
    assert resent.json()["status"] == "pending"
    clock.now = datetime.now(UTC)  # the resend is due at the API's time
    assert worker.run_once().delivery.sent == 1
    first, second = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.body == second.body
    assert len(_detail(shop, endpoint, delivery["id"])["attempt_log"]) == 2

    missing = shop.owner.post(f"{_base(shop)}/{endpoint['id']}/deliveries/nope/resend")
    assert missing.status_code == 404
    assert missing.json()["type"].endswith("/webhook-delivery-not-found")
    _patch(shop.owner, f"{_base(shop)}/{endpoint['id']}", {"enabled": False})
    refused = shop.owner.post(path)
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("/webhook-endpoint-disabled")
    assert "enable it first" in refused.json()["detail"]


def test_a_test_event_goes_to_that_endpoint_alone_and_shows_in_its_log(
    client, worker, clock, receiver, shop
):
    endpoint = _register(shop, receiver.url, ["card.created"])
    with receiving() as other_receiver:
        other = _register(shop, other_receiver.url, ["card.created"])
        sent = shop.owner.post(f"{_base(shop)}/{endpoint['id']}/test")
        assert sent.status_code == 202, sent.text
        assert sent.json()["event_type"] == "webhook.test"
        clock.now = datetime.now(UTC)  # due at the API's time
        assert worker.run_once().delivery.sent == 1
        assert other_receiver.received == []
    assert _deliveries(shop, other) == []

    [received] = receiver.received
    assert received.verified_by(endpoint["secret"])
    body = received.json()
    assert body["type"] == "webhook.test"
    assert body["data"]["endpoint_id"] == endpoint["id"]
    [delivery] = _deliveries(shop, endpoint)
    assert delivery["status"] == "sent"
    assert delivery["message_id"] == received.headers["webhook-id"]
    [attempt] = _detail(shop, endpoint, delivery["id"])["attempt_log"]
    assert attempt["status_code"] == 200

    shop.owner.post(f"{_base(shop)}/{endpoint['id']}/test")
    ids = {d["message_id"] for d in _deliveries(shop, endpoint)}
    assert len(ids) == 2  # each test event its own webhook-id
    _patch(shop.owner, f"{_base(shop)}/{endpoint['id']}", {"enabled": False})
    refused = shop.owner.post(f"{_base(shop)}/{endpoint['id']}/test")
    assert refused.status_code == 409
    assert "enable it first" in refused.json()["detail"]


def test_a_rotated_secret_signs_beside_the_new_one_for_a_day(
    client, worker, clock, receiver, shop, customer
):
    endpoint = _register(shop, receiver.url)
    path = f"{_base(shop)}/{endpoint['id']}"
    rotated = shop.owner.post(path + "/secret/rotate")
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    assert new != endpoint["secret"]
    assert rotated.json()["previous_secret"] == endpoint["secret"]

    _bought(customer, shop)
    worker.run_once()
    [received] = receiver.received
    assert len(received.headers["webhook-signature"].split(" ")) == 2
    assert received.verified_by(new)
    assert received.verified_by(endpoint["secret"])  # a receiver not switched yet

    expires = datetime.fromisoformat(rotated.json()["previous_secret_expires_at"])
    assert timedelta(hours=23, minutes=59) < expires - clock.now <= timedelta(hours=24, minutes=1)
    clock.now = expires + timedelta(seconds=1)
    _bought(customer, shop)
    worker.run_once()
    later = receiver.received[-1]
    signatures = later.headers["webhook-signature"].split(" ")
    timestamp = datetime.fromtimestamp(int(later.headers["webhook-timestamp"]), UTC)
    signed = Webhook(new).sign(later.headers["webhook-id"], timestamp, later.body)
    assert signatures == [signed]  # the old secret no longer signs


def test_reading_the_log_again_sends_nothing_twice(
    client, sessions, worker, receiver, shop, customer
):
    _register(shop, receiver.url, ["card.created", "card.balance_changed"])
    _bought(customer, shop)
    _bought(customer, shop)
    first = worker.run_once()
    assert first.delivery.sent >= 2
    with sessions() as session:
        before = session.scalar(select(func.count()).select_from(WebhookDelivery))
        session.execute(update(WebhookCursor).values(position=0))  # read it all again
        session.commit()
    again = worker.run_once()
    assert again.events > 0
    assert again.delivery.sent == 0
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(WebhookDelivery)) == before
    ids = [r.headers["webhook-id"] for r in receiver.received]
    assert len(ids) == len(set(ids)) == before


def test_an_endpoint_is_sent_only_what_happens_after_it_is_registered(
    client, worker, receiver, shop, customer
):
    _bought(customer, shop)
    first = _register(shop, receiver.url)
    assert worker.run_once().delivery.sent == 0
    before = _bought(customer, shop)  # not read yet when the second endpoint comes
    second = _register(shop, receiver.url + "/second")
    after = _bought(customer, shop)
    assert worker.run_once().delivery.sent == 3
    sent = sorted((r.path, r.json()["data"]["id"]) for r in receiver.received)
    assert sent == sorted(
        [("/hooks", before["id"]), ("/hooks", after["id"]), ("/hooks/second", after["id"])]
    )
    assert len(_deliveries(shop, first)) == 2
    assert len(_deliveries(shop, second)) == 1
    path = f"{_base(shop)}/{first['id']}/deliveries"
    page = shop.owner.get(path, params={"limit": 1}).json()
    assert (page["total"], page["next_offset"]) == (2, 1)
    rest = shop.owner.get(path, params={"offset": 1}).json()
    assert [d["id"] for d in page["items"] + rest["items"]] == [
        d["id"] for d in _deliveries(shop, first)
    ]  # newest first, each once


def test_redirects_are_not_followed(client, worker, receiver, shop, customer):
    endpoint = _register(shop, receiver.url)
    receiver.answer(302, "", {"location": receiver.url + "/elsewhere"})
    _bought(customer, shop)
    assert worker.run_once().delivery.retrying == 1
    assert [r.path for r in receiver.received] == ["/hooks"]
    [delivery] = _deliveries(shop, endpoint)
    [attempt] = _detail(shop, endpoint, delivery["id"])["attempt_log"]
    assert attempt["status_code"] == 302
    assert "redirects are not followed" in attempt["error"]


def test_a_receiver_that_does_not_answer_in_time_fails_the_attempt(
    client, sessions, settings, clock, receiver, shop, customer
):
    quick = settings.model_copy(update={"webhooks_timeout_seconds": 0.3})
    worker = WebhookWorker(sessions, quick, clock=clock, schedule=SCHEDULE)
    endpoint = _register(shop, receiver.url)
    receiver.answer(HANG)
    _bought(customer, shop)
    try:
        assert worker.run_once().delivery.retrying == 1
    finally:
        worker.stop()
    [delivery] = _deliveries(shop, endpoint)
    [attempt] = _detail(shop, endpoint, delivery["id"])["attempt_log"]
    assert attempt["outcome"] == "failed"
    assert attempt["status_code"] is None
    assert attempt["error"] == "no answer within 0.3 s"


def test_a_private_address_is_refused_at_sending_too(
    client, sessions, settings, clock, receiver, shop, customer
):
    endpoint = _register(shop, receiver.url)  # registered while allowed
    strict = settings.model_copy(update={"webhooks_allow_private_urls": False})
    worker = WebhookWorker(sessions, strict, clock=clock, schedule=SCHEDULE)
    _bought(customer, shop)
    try:
        assert worker.run_once().delivery.retrying == 1
    finally:
        worker.stop()
    assert receiver.received == []
    [delivery] = _deliveries(shop, endpoint)
    [attempt] = _detail(shop, endpoint, delivery["id"])["attempt_log"]
    assert attempt["outcome"] == "refused"
    assert "127.0.0.1 is a loopback, private or reserved address" in attempt["error"]


def test_another_business_owner_cannot_see_the_endpoint(client, shop, receiver):
    endpoint = _register(shop, receiver.url)
    other = open_shop(client, "Other Shop")
    path = f"/api/v1/businesses/{other.business_id}/webhook-endpoints/{endpoint['id']}"
    response = other.owner.get(path)
    assert response.status_code == 404
    assert response.json()["type"].endswith("/webhook-endpoint-not-found")


@pytest.mark.postgres
def test_two_workers_at_once_send_each_event_once(postgres_url, settings):
    engine = make_engine(postgres_url)
    try:
        with engine.begin() as connection:
            upgrade(postgres_url, connection)
        settings = settings.model_copy(update={"webhooks_batch": 7, "webhooks_concurrency": 3})
        with receiving() as receiver, TestClient(create_app(settings, engine=engine)) as client:
            shop = open_shop(client)
            _register(shop, receiver.url, ["card.created"])
            customers = [sign_up(client) for _ in range(4)]
            for customer in customers:
                for amount in (500, 700, 900, 1100, 1300):
                    _bought(customer, shop, amount)
            sessions = make_sessionmaker(engine)
            workers = [WebhookWorker(sessions, settings) for _ in range(2)]
            done = rounds_together(workers, 10)
            for worker in workers:
                worker.stop()
            assert sum(r.delivery.sent for r in done) == 20
            ids = [r.headers["webhook-id"] for r in receiver.received]
            assert len(ids) == 20 == len(set(ids))
    finally:
        engine.dispose()


def test_finished_deliveries_are_forgotten_after_the_retention(
    client, sessions, worker, clock, receiver, shop, customer
):
    endpoint = _register(shop, receiver.url)
    _bought(customer, shop)
    worker.run_once()
    clock.advance(days=29)
    receiver.refuse(_bought(customer, shop)["id"])  # still being retried at the end
    worker.run_once()
    assert len(_deliveries(shop, endpoint)) == 2
    clock.advance(days=1, hours=1)
    worker.run_once()
    assert [d["status"] for d in _deliveries(shop, endpoint)] == ["pending"]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(WebhookAttempt)) == 2


# -- what happens while an endpoint is disabled waits for it (audit finding 2) -----------------


def _card_ids(received: list[Any]) -> list[str]:
    return [r.json()["data"]["id"] for r in received]


def test_what_happens_while_an_owner_disabled_the_endpoint_is_sent_when_enabled(
    client, sessions, worker, receiver, shop, customer
):
    endpoint = _register(shop, receiver.url)
    with receiving() as always:
        other = _register(shop, always.url)  # enabled all along
        first = _bought(customer, shop)
        worker.run_once()
        path = f"{_base(shop)}/{endpoint['id']}"
        assert _patch(shop.owner, path, {"enabled": False}).status_code == 200
        waiting = [_bought(customer, shop), _bought(customer, shop)]
        assert worker.run_once().delivery.sent == 2  # the other endpoint's
        assert _card_ids(receiver.received) == [first["id"]]
        # The other endpoint's log is forgotten meanwhile: it still gets nothing twice.
        with sessions() as session:
            theirs = select(WebhookDelivery.id).where(WebhookDelivery.endpoint_id == other["id"])
            session.execute(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(theirs)))
            session.execute(delete(WebhookDelivery).where(WebhookDelivery.id.in_(theirs)))
            session.commit()

        assert _patch(shop.owner, path, {"enabled": True}).status_code == 200
        after = _bought(customer, shop)
        worker.run_once()
        worker.run_once()
        assert sorted(_card_ids(receiver.received)) == sorted(
            [first["id"], *(c["id"] for c in waiting), after["id"]]
        )
        assert sorted(_card_ids(always.received)) == sorted(
            [first["id"], *(c["id"] for c in waiting), after["id"]]
        )
    ids = [r.headers["webhook-id"] for r in receiver.received]
    assert len(ids) == len(set(ids)) == 4
    # Each event keeps its place in the business's log and the time it happened.
    positions = [r.json()["data"]["position"] for r in receiver.received]
    assert len(set(positions)) == 4
    assert [d["status"] for d in _deliveries(shop, endpoint)] == ["sent"] * 4


def test_an_endpoint_disabled_after_410_is_sent_that_event_and_what_came_since(
    client, worker, clock, receiver, shop, customer
):
    endpoint = _register(shop, receiver.url + "/old")
    receiver.answer(410, "moved")
    gone = _bought(customer, shop)
    worker.run_once()
    path = f"{_base(shop)}/{endpoint['id']}"
    assert shop.owner.get(path).json()["status"] == "disabled"
    [delivery] = _deliveries(shop, endpoint)
    assert delivery["status"] == "pending"  # it waits, as the notice says
    meanwhile = _bought(customer, shop)
    clock.advance(hours=1)
    assert worker.run_once().delivery.sent == 0

    changed = _patch(shop.owner, path, {"url": receiver.url + "/new", "enabled": True})
    assert changed.status_code == 200, changed.text
    clock.now = datetime.now(UTC)  # what waited is due at the API's time
    worker.run_once()
    new = [r for r in receiver.received if r.path == "/hooks/new"]
    assert sorted(_card_ids(new)) == sorted([gone["id"], meanwhile["id"]])
    assert [d["status"] for d in _deliveries(shop, endpoint)] == ["sent", "sent"]
    clock.advance(hours=1)
    worker.run_once()
    assert len(receiver.received) == 3  # the 410, then each event once


def test_a_business_whose_endpoints_are_all_disabled_is_not_read(
    client, worker, receiver, shop, customer
):
    endpoint = _register(shop, receiver.url)
    _patch(shop.owner, f"{_base(shop)}/{endpoint['id']}", {"enabled": False})
    for _ in range(5):
        _bought(customer, shop)
    assert worker.run_once().events == 0
    assert _deliveries(shop, endpoint) == []
    _patch(shop.owner, f"{_base(shop)}/{endpoint['id']}", {"enabled": True})
    assert worker.run_once().delivery.sent == 5


def test_what_waited_longer_than_the_delivery_log_is_kept_is_not_sent(
    client, sessions, settings, worker, clock, receiver, shop, customer
):
    from server.events import Event

    endpoint = _register(shop, receiver.url)
    receiver.refuse(_bought(customer, shop)["id"])  # pending when the endpoint is disabled
    worker.run_once()
    path = f"{_base(shop)}/{endpoint['id']}"
    _patch(shop.owner, path, {"enabled": False})
    old = _bought(customer, shop)
    recent = _bought(customer, shop)
    kept = timedelta(days=settings.webhooks_retention_days)
    with sessions() as session:  # as if the first two happened more than 30 days ago
        for delivery in session.scalars(select(WebhookDelivery)):
            delivery.created_at -= kept
        for event in session.scalars(select(Event).where(Event.entity_id == old["id"])):
            event.occurred_at = datetime.now(UTC) - kept - timedelta(hours=1)
        session.commit()

    _patch(shop.owner, path, {"enabled": True})
    clock.now = datetime.now(UTC)
    worker.run_once()
    assert _card_ids(receiver.received)[1:] == [recent["id"]]
    statuses = sorted((d["status"], d["last_error"]) for d in _deliveries(shop, endpoint))
    assert [s for s, _ in statuses] == ["failed", "sent"]
    assert "waited more than 30 days" in statuses[0][1]


def test_an_owner_deletes_an_endpoint_and_it_is_sent_nothing_more(
    client, worker, clock, receiver, shop, customer
):
    kept = _register(shop, receiver.url, description="kept")
    gone = _register(shop, receiver.url, description="to delete")
    receiver.answer(500, "down")
    receiver.answer(500, "down")
    _bought(customer, shop)
    assert worker.run_once().delivery.retrying == 2  # both wait for a retry

    path = f"{_base(shop)}/{gone['id']}"
    deleted = shop.owner.delete(path)
    assert deleted.status_code == 204, deleted.text
    for url in (path, f"{path}/secret", f"{path}/deliveries"):
        response = shop.owner.get(url)
        assert response.status_code == 404, url
        assert response.json()["type"].endswith("/webhook-endpoint-not-found")
    assert shop.owner.delete(path).status_code == 404
    assert _patch(shop.owner, path, {"enabled": True}).status_code == 404
    listed = shop.owner.get(_base(shop)).json()
    assert [e["id"] for e in listed["items"]] == [kept["id"]]
    assert listed["total"] == 1

    clock.advance(hours=1)
    _bought(customer, shop)
    assert worker.run_once().delivery.sent == 2  # the kept endpoint's two; none of the other's
    assert {r.json()["type"] for r in receiver.received[-2:]} == {"card.created"}
    assert len(receiver.received) == 4  # two failed tries at first, then the kept two


def test_another_business_owner_cannot_delete_the_endpoint(client, shop, receiver):
    endpoint = _register(shop, receiver.url)
    other = open_shop(client, "Other Shop")
    path = f"/api/v1/businesses/{other.business_id}/webhook-endpoints/{endpoint['id']}"
    assert other.owner.delete(path).status_code == 404
    mine = f"{_base(shop)}/{endpoint['id']}"
    assert shop.owner.get(mine).json()["status"] == "enabled"
