"""Sync figures on PostgreSQL, through the real server over HTTP and a real terminal core:

1. pushing 10,000 offline redemptions: events/s applied, next to the same run's rate of plain
   single-row INSERT + COMMIT of the same rows (the ceiling);
2. the first snapshot of 100,000 cards into a terminal (seconds; goal < 2 s);
3. a pull after 100 changes (bytes and ms) on a 1,000-card and on the 100,000-card database,
   to show it does not grow with the database.

    .venv/bin/python bench/sync_rates.py [--cards 100000] [--events 10000]

Needs a PostgreSQL it may create databases on (TILLPOINT_BENCH_POSTGRES_URL, default
postgresql://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import PASSWORD, free_port, recreate, wait_healthy  # noqa: E402
from sync.client import DeviceAuth, SyncClient  # noqa: E402
from sync.engine import PushSummary, push_outbox, take_snapshot  # noqa: E402
from sync.wire import public_key_text  # noqa: E402
from terminal.core.store import Pairing, TerminalStore  # noqa: E402


class Server:
    def __init__(self, database: str) -> None:
        self.url = recreate(database)
        self.data = tempfile.mkdtemp()
        self.env = {
            **os.environ,
            "DATABASE_URL": self.url,
            "TILLPOINT_DATA_DIR": self.data,
            "TILLPOINT_ARGON2_TIME_COST": "1",
            "TILLPOINT_ARGON2_MEMORY_KIB": "64",
            "TILLPOINT_REDEMPTIONS_PER_MINUTE": "1000000",
        }
        subprocess.run(
            [sys.executable, "-m", "sync.cli", "server", "migrate"],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
        )
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sync.cli", "server", "--port", str(port)],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_healthy(self.base)

    def cpu_seconds(self) -> float:
        """CPU seconds the server process (one worker: uvicorn in the process) has used."""
        return _cpu_seconds(self.process.pid)

    def postgres_cpu_seconds(self) -> dict[int, float]:
        """CPU seconds used by each PostgreSQL backend serving this server's database (its
        connection pool), whatever else runs on the machine."""
        database = self.url.rsplit("/", 1)[1]
        with psycopg.connect(self.url, autocommit=True) as connection:
            pids = [
                row[0]
                for row in connection.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s "
                    "AND pid <> pg_backend_pid()",
                    (database,),
                )
            ]
        return {pid: _cpu_seconds(pid) for pid in pids}

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=30)


def _cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of process `pid` so far (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def signed_in(base: str, role: str) -> dict[str, str]:
    email = f"{role}-{uuid.uuid4().hex[:8]}@bench.example"
    httpx.post(
        f"{base}/api/v1/auth/signup", json={"email": email, "password": PASSWORD, "role": role}
    ).raise_for_status()
    token = httpx.post(
        f"{base}/api/v1/auth/login", json={"email": email, "password": PASSWORD}
    ).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def shop_with_cards(server: Server, cards: int) -> tuple[dict[str, str], str, list[str]]:
    """A business with `cards` gift cards, bulk-loaded straight into the database (buying
    100,000 through the API would measure the purchase path instead)."""
    owner = signed_in(server.base, "vendor")
    business = httpx.post(
        f"{server.base}/api/v1/businesses",
        headers=owner,
        json={"name": "Bench Café", "category": "cafe", "currency": "GBP"},
    ).json()["id"]
    ids = [secrets.token_urlsafe(8)[:11] for _ in range(cards)]
    now = datetime.now(UTC)
    with psycopg.connect(server.url) as connection, connection.cursor() as cursor:
        with cursor.copy(
            "COPY ledger_accounts (key, purpose, currency, business_id, "
            "balance_minor, allow_negative) FROM STDIN"
        ) as copy:
            for card_id in ids:
                copy.write_row((f"card:{card_id}", "card", "GBP", business, 5000, False))
        cursor.execute("SELECT key, id FROM ledger_accounts WHERE purpose = 'card'")
        accounts = dict(cursor.fetchall())
        with cursor.copy(
            "COPY gift_cards (id, business_id, account_id, currency, status, "
            "token_id, token, issued_at, expires_at, version) FROM STDIN"
        ) as copy:
            for card_id in ids:
                copy.write_row(
                    (
                        card_id,
                        business,
                        accounts[f"card:{card_id}"],
                        "GBP",
                        "active",
                        "x",
                        "TP1:bench",
                        now,
                        now + timedelta(days=365),
                        1,
                    )
                )
        # Each card's creation in the business's event log, after what the API wrote there.
        cursor.execute(
            "SELECT coalesce(max(position), 0) FROM event_counters WHERE business_id = %s",
            (business,),
        )
        row = cursor.fetchone()
        head = int(row[0]) if row else 0
        with cursor.copy(
            "COPY events (business_id, position, entity, entity_id, kind, occurred_at) FROM STDIN"
        ) as copy:
            for n, card_id in enumerate(ids, start=head + 1):
                copy.write_row((business, n, "card", card_id, "created", now))
        cursor.execute(
            "INSERT INTO event_counters (business_id, position) VALUES (%s, %s) "
            "ON CONFLICT (business_id) DO UPDATE SET position = excluded.position",
            (business, head + len(ids)),
        )
    with psycopg.connect(server.url, autocommit=True) as connection:
        connection.execute("ANALYZE")  # as autovacuum would after a load this size
    return owner, business, ids


def paired_store(
    server: Server, owner: dict[str, str], business: str
) -> tuple[TerminalStore, SyncClient]:
    code = httpx.post(
        f"{server.base}/api/v1/businesses/{business}/pairing-codes", headers=owner
    ).json()["code"]
    key = Ed25519PrivateKey.generate()
    paired = SyncClient(server.base).pair(code, public_key_text(key.public_key()), "Bench till")
    store = TerminalStore(Path(tempfile.mkdtemp()) / "till.db")
    store.save_pairing(Pairing(server.base, paired.device_id, business, paired.secret, key))
    client = SyncClient(server.base, auth=DeviceAuth(paired.device_id, paired.secret), timeout=120)
    return store, client


@dataclass
class Snapshot:
    seconds: float  # wall clock, first request to the last page applied
    terminal_cpu: float  # CPU seconds of the terminal (this process: client and store)
    server_cpu: float  # of the server process
    postgres_cpu: float  # of its PostgreSQL backends


def take_first_snapshot(server: Server, store: TerminalStore, client: SyncClient) -> Snapshot:
    before = server.cpu_seconds(), server.postgres_cpu_seconds(), time.process_time()
    started = time.perf_counter()
    take_snapshot(client, store, PushSummary())
    seconds = time.perf_counter() - started
    after = server.cpu_seconds(), server.postgres_cpu_seconds(), time.process_time()
    postgres = sum(used - before[1].get(pid, 0.0) for pid, used in after[1].items())
    return Snapshot(seconds, after[2] - before[2], after[0] - before[0], postgres)


def pull_after_changes(
    server: Server,
    owner: dict[str, str],
    business: str,
    ids: list[str],
    store: TerminalStore,
    client: SyncClient,
    changes: int,
) -> tuple[int, float]:
    cursor = store.cursor()
    assert cursor is not None
    with httpx.Client(headers=owner) as http:
        for card_id in ids[:changes]:
            http.post(
                f"{server.base}/api/v1/businesses/{business}/redemptions",
                headers={"Idempotency-Key": uuid.uuid4().hex},
                json={"card_id": card_id, "amount_minor": 1},
            ).raise_for_status()
    started = time.perf_counter()
    page = client.pull(cursor)
    elapsed = time.perf_counter() - started
    assert len(page.cards) == changes
    assert not page.more
    return len(page.model_dump_json().encode()), elapsed * 1000


@dataclass
class Push:
    rate: float  # events applied per second, over HTTP
    server_cpu_ms: float  # CPU of the server process per event
    postgres_cpu_ms: float  # CPU of the server's PostgreSQL backends per event


def queue_redemptions(store: TerminalStore, card_ids: list[str], events: int) -> None:
    """`events` offline redemptions of 1p in the outbox, spread over the cards in turn."""
    cached = [store.card(card_id) for card_id in card_ids]
    for n in range(events):
        card = cached[n % len(cached)]
        assert card is not None
        store.record_offline_redemption(card, 1, uuid.uuid4().hex)


def push_rate(
    server: Server, store: TerminalStore, client: SyncClient, card_ids: list[str], events: int
) -> Push:
    queue_redemptions(store, card_ids, events)
    cpu_before = server.cpu_seconds(), server.postgres_cpu_seconds()
    started = time.perf_counter()
    summary = push_outbox(client, store)
    elapsed = time.perf_counter() - started
    cpu_after = server.cpu_seconds(), server.postgres_cpu_seconds()
    assert summary.applied == events, summary
    server_cpu = cpu_after[0] - cpu_before[0]
    postgres_cpu = sum(used - cpu_before[1].get(pid, 0.0) for pid, used in cpu_after[1].items())
    return Push(events / elapsed, server_cpu * 1000 / events, postgres_cpu * 1000 / events)


def statements_per_event(server: Server, store: TerminalStore, card_ids: list[str]) -> float:
    """Statements the server sends PostgreSQL per pushed event, counted in-process: the same
    app (`create_app`) on the same database, driven through Starlette's TestClient."""
    import logging

    from fastapi.testclient import TestClient
    from sqlalchemy import event as sqlalchemy_event

    from server.app import create_app
    from server.db import make_engine
    from server.settings import Settings

    settings = Settings(
        database_url=server.url,
        data_dir=Path(server.data),
        redemptions_per_minute=1_000_000,
        billing_interval_seconds=0,
        notifications_interval_seconds=0,
    )
    engine = make_engine(settings.effective_database_url)
    sent = [0]

    @sqlalchemy_event.listens_for(engine, "before_cursor_execute")
    def _count(*_: object) -> None:
        sent[0] += 1

    pairing = store.pairing()
    assert pairing is not None
    events = 1_000
    queue_redemptions(store, card_ids, events)
    with TestClient(create_app(settings, engine=engine)) as http:
        logging.getLogger("tillpoint.http").setLevel(logging.WARNING)  # no line per request
        client = SyncClient("", http=http, auth=DeviceAuth(pairing.device_id, pairing.secret))
        sent[0] = 0
        summary = push_outbox(client, store)
        counted = sent[0]
    engine.dispose()
    assert summary.applied == events, summary
    return counted / events


def insert_rate(url: str, events: int) -> float:
    """The ceiling: the same rows (event id, device, seq, payload), one INSERT and COMMIT
    each, from one client, into a table shaped like sync_events."""
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(
            "CREATE TABLE bench_events (id text PRIMARY KEY, device_id text, "
            "seq bigint, type text, occurred_at text, payload jsonb, status text)"
        )
        started = time.perf_counter()
        for seq in range(events):
            connection.execute(
                "INSERT INTO bench_events VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (
                    str(uuid.uuid4()),
                    "device",
                    seq,
                    "gift_card_redemption",
                    datetime.now(UTC).isoformat(),
                    json.dumps({"card_id": "c", "amount_minor": 1}),
                    "applied",
                ),
            )
        return events / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cards", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=10_000)
    args = parser.parse_args()
    print(f"Sync on PostgreSQL over HTTP — {os.cpu_count()} CPUs, 1 server worker")

    small = Server("tillpoint_bench_small")
    try:
        owner, business, ids = shop_with_cards(small, 1_000)
        store, client = paired_store(small, owner, business)
        take_first_snapshot(small, store, client)
        small_bytes, small_ms = pull_after_changes(small, owner, business, ids, store, client, 100)
        push = push_rate(small, store, client, ids[:200], args.events)
        ceiling = insert_rate(small.url, args.events)
        print(
            f"  push {args.events:,} offline redemptions   {push.rate:>9,.0f} events/s; plain "
            f"INSERT+COMMIT {ceiling:,.0f}/s; ratio {push.rate / ceiling:.2f} (goal ≥ 0.5)"
        )
        print(
            f"    per event: server CPU {push.server_cpu_ms:.2f} ms, PostgreSQL CPU "
            f"{push.postgres_cpu_ms:.2f} ms, "
            f"{statements_per_event(small, store, ids[:200]):.2f} statements"
        )
        client.close()
    finally:
        small.stop()

    large = Server("tillpoint_bench_large")
    try:
        owner, business, ids = shop_with_cards(large, args.cards)
        store, client = paired_store(large, owner, business)
        snapshot = take_first_snapshot(large, store, client)
        print(
            f"  first snapshot of {args.cards:,} cards      {snapshot.seconds:>9.2f} s (goal < 2 s)"
        )
        print(
            f"    CPU seconds: terminal {snapshot.terminal_cpu:.2f}, server "
            f"{snapshot.server_cpu:.2f}, PostgreSQL {snapshot.postgres_cpu:.2f}"
        )
        large_bytes, large_ms = pull_after_changes(large, owner, business, ids, store, client, 100)
        print(
            f"  pull after 100 changes, 1,000 cards     {small_bytes:>9,} bytes {small_ms:6.1f} ms"
        )
        print(
            f"  pull after 100 changes, {args.cards:,} cards  {large_bytes:>9,} bytes "
            f"{large_ms:6.1f} ms"
        )
        client.close()
    finally:
        large.stop()


if __name__ == "__main__":
    main()
