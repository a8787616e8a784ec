"""How soon a committed change reaches a terminal's pull and an app's stream, with 2 server
workers on PostgreSQL sharing wake-ups through Redis.

    .venv/bin/python bench/realtime.py [--changes 60]

Needs a PostgreSQL it may create databases on (TILLPOINT_BENCH_POSTGRES_URL, default
postgresql://postgres@127.0.0.1:5432/postgres) and a Redis (TILLPOINT_BENCH_REDIS_URL,
default redis://127.0.0.1:6379/0). Goal (issue 15, point 5): p95 <= 1 s for both.

A terminal (the real `TerminalSession` store and `sync.engine.Listening`) listens to
`/sync/stream` and pulls whenever it hears changes wait; a customer's app listens to
`/me/stream`. A cashier redeems 1p at a time, at random gaps of 0.2-0.6 s, through either
worker. Each latency runs from the redemption's answer (its commit is done by then) to the
end of the terminal's pull that brought the change (its cursor reached the log's head
after that commit), and to the app's event carrying the new balance. The terminal's
polling timer is set to 60 s, so what the figures show is the stream, not the timer.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import PASSWORD, free_port, recreate, tillpoint, wait_healthy  # noqa: E402
from sync.client import DeviceAuth, SyncClient  # noqa: E402
from sync.engine import Listening, sync_once  # noqa: E402
from terminal.core.session import TerminalSession  # noqa: E402

WORKERS = 2


def signed_in(base: str, role: str) -> dict[str, str]:
    email = f"{role}-{uuid.uuid4().hex[:8]}@bench.example"
    body = {"email": email, "password": PASSWORD}
    httpx.post(f"{base}/api/v1/auth/signup", json={**body, "role": role}).raise_for_status()
    token = httpx.post(f"{base}/api/v1/auth/login", json=body).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


class Terminal:
    """A paired terminal that pulls when its stream says so; when each pull ended, and the
    cursor it reached."""

    def __init__(self, session: TerminalSession, base: str) -> None:
        self.session = session
        pairing = session.store.pairing()
        assert pairing is not None
        self.pulls: list[tuple[float, int]] = []
        self._lock = threading.Lock()
        self._changes = threading.Event()
        self.base = base
        self.auth = DeviceAuth(pairing.device_id, pairing.secret)
        stream_client = SyncClient(base, auth=self.auth)
        self._listening = Listening(stream_client, session.store.cursor, self._heard)
        self._stopped = threading.Event()

    def _heard(self) -> None:
        self._changes.set()

    def run(self) -> None:
        threading.Thread(target=self._listening.run, daemon=True).start()
        with SyncClient(self.base, auth=self.auth) as client:
            while not self._stopped.is_set():
                self._changes.clear()
                summary = sync_once(client, self.session.store)
                with self._lock:
                    self.pulls.append((time.perf_counter(), summary.cursor))
                self._changes.wait(60)  # the polling timer, out of the way

    def pulled_at(self, position: int) -> float | None:
        with self._lock:
            return next((at for at, cursor in self.pulls if cursor >= position), None)

    def stop(self) -> None:
        self._stopped.set()
        self._changes.set()
        self._listening.stop()


class App:
    """A customer's app on /me/stream: when each balance arrived."""

    def __init__(self, base: str, customer: dict[str, str]) -> None:
        self.base, self.customer = base, customer
        self.balances: dict[int, float] = {}
        self._lock = threading.Lock()

    def run(self) -> None:
        timeout = httpx.Timeout(5, read=60)
        try:
            with httpx.stream(
                "GET", f"{self.base}/api/v1/me/stream", headers=self.customer, timeout=timeout
            ) as response:
                for line in response.iter_lines():
                    if line.startswith("data:"):
                        minor = json.loads(line.removeprefix("data:"))["balance"]["minor"]
                        with self._lock:
                            self.balances.setdefault(minor, time.perf_counter())
        except httpx.HTTPError:
            pass  # the server stopped at the end of the run

    def heard_at(self, minor: int) -> float | None:
        with self._lock:
            return self.balances.get(minor)


def measure(changes: int) -> tuple[list[float], list[float]]:
    url = recreate("tillpoint_bench_realtime")
    redis = os.environ.get("TILLPOINT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    with tempfile.TemporaryDirectory() as folder:
        env = {
            "DATABASE_URL": url,
            "TILLPOINT_DATA_DIR": str(Path(folder) / "server"),
            "TILLPOINT_REDIS_URL": redis,
            "TILLPOINT_REDIS_PREFIX": f"bench-{uuid.uuid4().hex}:",
            "TILLPOINT_ARGON2_TIME_COST": "1",
            "TILLPOINT_ARGON2_MEMORY_KIB": "64",
        }
        if tillpoint("server", "migrate", env=env).wait() != 0:
            raise SystemExit("migration failed")
        port = free_port()
        server = tillpoint("server", "--port", str(port), "--workers", str(WORKERS), env=env)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(base, attempts=300)
            return drive(base, url, Path(folder), changes)
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=30)


def drive(base: str, database: str, folder: Path, changes: int) -> tuple[list[float], list[float]]:
    owner = signed_in(base, "vendor")
    business = httpx.post(
        f"{base}/api/v1/businesses",
        headers=owner,
        json={"name": "Bench Café", "category": "cafe", "currency": "GBP"},
    ).json()["id"]
    customer = signed_in(base, "customer")
    card = httpx.post(
        f"{base}/api/v1/businesses/{business}/gift-cards",
        headers={**customer, "Idempotency-Key": uuid.uuid4().hex},
        json={"amount_minor": 50_000, "payment": {"card_number": "4242424242424242"}},
    ).json()["id"]
    code = httpx.post(f"{base}/api/v1/businesses/{business}/pairing-codes", headers=owner).json()
    session = TerminalSession(folder / "till.db")
    session.pair(base, code["code"], "Bench till")
    terminal, app = Terminal(session, base), App(base, customer)
    threading.Thread(target=terminal.run, daemon=True).start()
    threading.Thread(target=app.run, daemon=True).start()
    time.sleep(2)  # both streams connected, the first sync done

    to_pull, to_app = [], []
    chance = random.Random(15)
    balance = 50_000
    with psycopg.connect(database, autocommit=True) as db, httpx.Client() as cashier:
        for _ in range(changes):
            answer = cashier.post(
                f"{base}/api/v1/businesses/{business}/redemptions",
                headers={**owner, "Idempotency-Key": uuid.uuid4().hex},
                json={"card_id": card, "amount_minor": 1},
            )
            committed = time.perf_counter()
            answer.raise_for_status()
            balance -= 1
            row = db.execute(
                "SELECT position FROM event_counters WHERE business_id = %s", (business,)
            ).fetchone()
            assert row is not None
            head = int(row[0])
            deadline = committed + 10
            pulled = heard = None
            while (pulled is None or heard is None) and time.perf_counter() < deadline:
                pulled = pulled or terminal.pulled_at(head)
                heard = heard or app.heard_at(balance)
                time.sleep(0.002)
            if pulled is None or heard is None:
                raise SystemExit(
                    f"change {head} not delivered in 10 s (pull {pulled}, app {heard})"
                )
            to_pull.append(pulled - committed)
            to_app.append(heard - committed)
            time.sleep(chance.uniform(0.2, 0.6))
    terminal.stop()
    session.close()
    return to_pull, to_app


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--changes", type=int, default=60)
    args = parser.parse_args()
    to_pull, to_app = measure(args.changes)
    print(f"real time, {WORKERS} workers, {args.changes} redemptions (goal: p95 <= 1 s)")
    for name, values in (("commit -> terminal pull", to_pull), ("commit -> app event", to_app)):
        print(
            f"  {name:<26} p50 {statistics.median(values) * 1000:7.1f} ms   "
            f"p95 {percentile(values, 0.95) * 1000:7.1f} ms   "
            f"max {max(values) * 1000:7.1f} ms"
        )


if __name__ == "__main__":
    main()
