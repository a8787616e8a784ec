"""Real time against the real server: a change committed by one server process wakes the
streams another serves (through Redis), streams resume with Last-Event-ID, and the server
still stops at once on Ctrl+C with streams open."""

from __future__ import annotations

import json
import queue
import signal
import threading
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest

from sync.client import DeviceAuth, SyncClient
from sync.engine import sync_once
from sync.wire import ChangesWaiting
from tests.e2e.conftest import (
    FAST_HASHING,
    free_port,
    migrated_server,
    paired_terminal,
    redis_env,
    running,
    signed_in,
    tillpoint,
    tillpoint_run,
)

WAIT = 10  # seconds before a test gives up on an event (streams re-read unwoken every 20 s)


@contextmanager
def two_servers(
    postgres_url: str, data: Path, env: dict[str, str] | None = None
) -> Iterator[tuple[str, str]]:
    """Two server processes over one PostgreSQL and one Redis: two workers whose requests
    the test chooses."""
    env = {
        "DATABASE_URL": postgres_url,
        "TILLPOINT_DATA_DIR": str(data),
        **FAST_HASHING,
        **(env or {}),
    }
    env |= redis_env()
    migrate = tillpoint_run("server", "migrate", env=env)
    assert migrate.returncode == 0, migrate.stdout
    with ExitStack() as stack:
        bases = []
        for _ in range(2):
            port = free_port()
            process = tillpoint("server", "--port", str(port), env=env)
            bases.append(stack.enter_context(running(process, port)))
        yield bases[0], bases[1]


def _shop(base: str) -> tuple[dict[str, str], str]:
    owner = signed_in(base, "vendor")
    business = httpx.post(
        f"{base}/api/v1/businesses",
        headers=owner,
        json={"name": "Corner Bakery", "category": "bakery", "currency": "GBP"},
    )
    assert business.status_code == 201, business.text
    return owner, business.json()["id"]


def _buy(base: str, customer: dict[str, str], business_id: str) -> str:
    bought = httpx.post(
        f"{base}/api/v1/businesses/{business_id}/gift-cards",
        headers={**customer, "Idempotency-Key": uuid.uuid4().hex},
        json={"amount_minor": 5000, "payment": {"card_number": "4242424242424242"}},
    )
    assert bought.status_code == 201, bought.text
    return str(bought.json()["id"])


def _redeem(base: str, owner: dict[str, str], business_id: str, card_id: str) -> None:
    answer = httpx.post(
        f"{base}/api/v1/businesses/{business_id}/redemptions",
        headers={**owner, "Idempotency-Key": uuid.uuid4().hex},
        json={"card_id": card_id, "amount_minor": 100},
    )
    assert answer.status_code in (200, 201), answer.text


@contextmanager
def hearing(
    base: str, auth: DeviceAuth, after: int | None
) -> Iterator[queue.Queue[ChangesWaiting]]:
    """The terminal's stream, open: what it hears arrives on the queue."""
    heard: queue.Queue[ChangesWaiting] = queue.Queue()
    with SyncClient(base, auth=auth) as client:
        stream = client.open_stream(after)

        def listen() -> None:
            for event in stream:
                heard.put(event)

        listener = threading.Thread(target=listen)
        listener.start()
        try:
            yield heard
        finally:
            stream.close()
            listener.join()


@pytest.mark.postgres
def test_a_redemption_on_one_worker_wakes_a_terminal_stream_on_the_other(postgres_url, tmp_path):
    with two_servers(postgres_url, tmp_path / "server") as (a, b):
        owner, business_id = _shop(a)
        store, auth = paired_terminal(a, owner, business_id, tmp_path / "till.db", "Till")
        customer = signed_in(a, "customer")
        card_id = _buy(a, customer, business_id)
        with SyncClient(a, auth=auth) as terminal:
            sync_once(terminal, store)
            cursor = store.cursor()
            assert cursor is not None

            with hearing(a, auth, cursor) as heard:
                _redeem(b, owner, business_id, card_id)
                first = heard.get(timeout=WAIT)
                assert first.position > cursor
                # The stream is surely following by now: this one comes by a wake-up.
                _redeem(b, owner, business_id, card_id)
                second = heard.get(timeout=WAIT)
                assert second.position > first.position

            pulled = sync_once(terminal, store)
        assert store.cursor() == second.position
        assert pulled.pulled >= 1


def _app_events(response: httpx.Response, heard: queue.Queue[dict[str, object]]) -> None:
    event: dict[str, object] = {}
    try:
        for line in response.iter_lines():
            if not line:
                if "data" in event:
                    heard.put(event)
                event = {}
            elif not line.startswith(":"):
                field, _, value = line.partition(":")
                event[field] = value.removeprefix(" ")
    except (httpx.HTTPError, httpx.StreamError):
        pass  # closed by the test, or the server stopped


@contextmanager
def app_stream(
    base: str,
    customer: dict[str, str],
    last_event_id: str | None = None,
    path: str = "/api/v1/me/stream",
) -> Iterator[queue.Queue[dict[str, object]]]:
    headers = {**customer, **({"Last-Event-ID": last_event_id} if last_event_id else {})}
    heard: queue.Queue[dict[str, object]] = queue.Queue()
    with (
        httpx.Client(timeout=httpx.Timeout(5, read=60)) as http,
        http.stream("GET", f"{base}{path}", headers=headers) as response,
    ):
        assert response.status_code == 200
        threading.Thread(target=_app_events, args=(response, heard), daemon=True).start()
        yield heard


@pytest.mark.postgres
def test_an_app_stream_sees_its_cards_balance_change_and_resumes(postgres_url, tmp_path):
    with two_servers(postgres_url, tmp_path / "server") as (a, b):
        owner, business_id = _shop(a)
        customer = signed_in(a, "customer")
        card_id = _buy(a, customer, business_id)
        with app_stream(a, customer) as heard:
            _redeem(b, owner, business_id, card_id)
            event = heard.get(timeout=WAIT)
        assert event["event"] == "card"
        changed = json.loads(str(event["data"]))
        assert changed["card_id"] == card_id
        assert changed["balance"]["minor"] == 4900
        resume = str(event["id"])
        assert resume.startswith(f"{business_id}:")

        _redeem(b, owner, business_id, card_id)  # while the app is away
        with app_stream(a, customer, resume) as heard:
            missed = json.loads(str(heard.get(timeout=WAIT)["data"]))
        assert missed["balance"]["minor"] == 4800


@pytest.mark.postgres
def test_an_inbox_stream_hears_a_receipt_delivered_by_another_worker(postgres_url, tmp_path):
    quick = {"TILLPOINT_NOTIFICATIONS_INTERVAL_SECONDS": "0.5"}
    with two_servers(postgres_url, tmp_path / "server", quick) as (a, b):
        _owner, business_id = _shop(a)
        customer = signed_in(a, "customer")
        with app_stream(b, customer, path="/api/v1/me/inbox/stream") as heard:
            empty = heard.get(timeout=WAIT)  # how it stands, at once
            assert json.loads(str(empty["data"]))["unread"] == 0
            _buy(a, customer, business_id)  # its receipt reaches the inbox by a worker
            arrived = heard.get(timeout=WAIT)
            news = json.loads(str(arrived["data"]))
            assert (news["unread"], news["newest"]["kind"]) == (1, "card_bought")
            read = httpx.post(f"{a}/api/v1/me/inbox/{news['newest']['id']}/read", headers=customer)
            assert read.status_code == 200, read.text
            after_reading = heard.get(timeout=WAIT)
            assert json.loads(str(after_reading["data"]))["unread"] == 0
        # Resumed where it was (1 item, 0 unread): nothing to say until the inbox changes.
        assert after_reading["id"] == "1.0"
        path = "/api/v1/me/inbox/stream"
        with app_stream(b, customer, "1.0", path=path) as heard, pytest.raises(queue.Empty):
            heard.get(timeout=2)


@pytest.mark.postgres
def test_a_deal_stream_counts_down_its_vouchers_and_closes_when_sold_out(postgres_url, tmp_path):
    from datetime import UTC, datetime, timedelta

    with two_servers(postgres_url, tmp_path / "server") as (a, b):
        owner, business_id = _shop(a)
        now = datetime.now(UTC)
        deal = httpx.post(
            f"{a}/api/v1/businesses/{business_id}/deals",
            headers=owner,
            json={
                "title": "Loaf for a pound",
                "original_price_minor": 300,
                "deal_price_minor": 100,
                "starts_at": (now - timedelta(hours=1)).isoformat(),
                "ends_at": (now + timedelta(days=1)).isoformat(),
                "quantity_limit": 2,
            },
        ).json()
        customer = signed_in(a, "customer")

        def buy() -> None:
            bought = httpx.post(
                f"{b}/api/v1/deals/{deal['id']}/vouchers",
                headers={**customer, "Idempotency-Key": uuid.uuid4().hex},
                json={"payment": {"card_number": "4242424242424242"}},
            )
            assert bought.status_code == 201, bought.text

        with app_stream(a, {}, path=f"/api/v1/deals/{deal['id']}/stream") as heard:
            states = [json.loads(str(heard.get(timeout=WAIT)["data"]))]
            buy()
            states.append(json.loads(str(heard.get(timeout=WAIT)["data"])))
            buy()
            states.append(json.loads(str(heard.get(timeout=WAIT)["data"])))
        assert [(s["remaining"], s["on_sale"]) for s in states] == [
            (2, True),
            (1, True),
            (0, False),
        ]
        missing = httpx.get(f"{a}/api/v1/deals/nosuchdeal0/stream")
        assert missing.status_code == 404


def test_a_terminal_stream_resumes_with_last_event_id(tmp_path):
    with migrated_server(f"sqlite:///{tmp_path / 'server.db'}", tmp_path / "server") as base:
        owner, business_id = _shop(base)
        store, auth = paired_terminal(base, owner, business_id, tmp_path / "till.db", "Till")
        customer = signed_in(base, "customer")
        card_id = _buy(base, customer, business_id)
        with SyncClient(base, auth=auth) as terminal:
            sync_once(terminal, store)
        cursor = store.cursor()
        assert cursor is not None

        # Behind the head: told at once, with the head as the id.
        with hearing(base, auth, 0) as heard:
            assert heard.get(timeout=WAIT).position == cursor

        # At the head: nothing until the log moves, then the new position.
        with hearing(base, auth, cursor) as heard:
            _redeem(base, owner, business_id, card_id)
            assert heard.get(timeout=WAIT).position > cursor
            assert heard.empty()
        head = store.cursor()
        assert head is not None

        # Ahead of the head (a server restored from a backup): told the head at once.
        with hearing(base, auth, 10**9) as heard:
            told = heard.get(timeout=WAIT).position
        assert cursor < told <= 10**9 - 1


@pytest.mark.parametrize("resume", ["{business}:999999999", "garbage", "a:b:c,,"])
def test_an_app_stream_resumed_from_an_id_it_cannot_use_sends_the_cards_as_they_are(
    tmp_path, resume
):
    """An id ahead of the log (the server was restored from a backup) or one that is not
    the stream's own: the app hears its cards' state at once, then every change, rather
    than nothing until the log catches up with it."""
    with migrated_server(f"sqlite:///{tmp_path / 'server.db'}", tmp_path / "server") as base:
        owner, business_id = _shop(base)
        customer = signed_in(base, "customer")
        card_id = _buy(base, customer, business_id)
        with app_stream(base, customer, resume.format(business=business_id)) as heard:
            now = heard.get(timeout=WAIT)
            assert json.loads(str(now["data"]))["balance"]["minor"] == 5000
            _redeem(base, owner, business_id, card_id)
            later = heard.get(timeout=WAIT)
        assert json.loads(str(later["data"]))["balance"]["minor"] == 4900
        assert not str(later["id"]).endswith(":999999999")


def test_ctrl_c_stops_the_server_at_once_with_streams_open(tmp_path):
    url = f"sqlite:///{tmp_path / 'server.db'}"
    env = {"DATABASE_URL": url, "TILLPOINT_DATA_DIR": str(tmp_path / "server"), **FAST_HASHING}
    assert tillpoint_run("server", "migrate", env=env).returncode == 0
    port = free_port()
    process = tillpoint("server", "--port", str(port), env=env)
    with running(process, port) as base:
        customer = signed_in(base, "customer")
        with ExitStack() as streams:
            for _ in range(3):
                streams.enter_context(app_stream(base, customer))
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=WAIT) == 0
