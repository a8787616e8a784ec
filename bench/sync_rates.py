"""Sync figures on PostgreSQL, through the real server over HTTP and a real terminal core:

1. pushing 10,000 offline redemptions: events/s applied, next to the same run's rate of plain
   single-row INSERT + COMMIT of the same rows (the ceiling);
2. the first snapshot of 100,000 cards into a terminal (seconds; goal < 5 s);
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
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import PASSWORD, free_port, recreate  # noqa: E402
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
        for _ in range(200):
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=30)


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
        with cursor.copy("COPY changes (business_id, entity, entity_id) FROM STDIN") as copy:
            for card_id in ids:
                copy.write_row((business, "card", card_id))
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


def snapshot_seconds(store: TerminalStore, client: SyncClient) -> float:
    started = time.perf_counter()
    take_snapshot(client, store, PushSummary())
    return time.perf_counter() - started


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


def push_rate(store: TerminalStore, client: SyncClient, card_ids: list[str], events: int) -> float:
    """`events` offline redemptions of 1p, spread over the cards in turn."""
    cached = [store.card(card_id) for card_id in card_ids]
    for n in range(events):
        card = cached[n % len(cached)]
        assert card is not None
        store.record_offline_redemption(card, 1, uuid.uuid4().hex)
    started = time.perf_counter()
    summary = push_outbox(client, store)
    elapsed = time.perf_counter() - started
    assert summary.applied == events, summary
    return events / elapsed


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
        snapshot_seconds(store, client)
        small_bytes, small_ms = pull_after_changes(small, owner, business, ids, store, client, 100)
        rate = push_rate(store, client, ids[:200], args.events)
        ceiling = insert_rate(small.url, args.events)
        print(
            f"  push {args.events:,} offline redemptions   {rate:>9,.0f} events/s; plain "
            f"INSERT+COMMIT {ceiling:,.0f}/s; ratio {rate / ceiling:.2f} (goal ≥ 0.25)"
        )
        client.close()
    finally:
        small.stop()

    large = Server("tillpoint_bench_large")
    try:
        owner, business, ids = shop_with_cards(large, args.cards)
        store, client = paired_store(large, owner, business)
        seconds = snapshot_seconds(store, client)
        print(f"  first snapshot of {args.cards:,} cards      {seconds:>9.2f} s (goal < 5 s)")
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
