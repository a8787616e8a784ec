"""One request at a time, in process, on a real PostgreSQL: what each hot path costs the
server, by layer, with the statements it sends — figures that do not depend on how busy
the machine is (CPU time and statement counts, not rates).

    .venv/bin/python bench/profile_requests.py [--requests 200] [--sql] [--no-profile]

The real app (`create_app`) on a fresh database, driven through Starlette's TestClient
(the app's own threads, no network). Per kind of request: the process's CPU per request
(`time.process_time`, the test client's share included; `/healthz` is the floor), the
CPU PostgreSQL's backends spent on it (their /proc times), and the statements per request
(BEGIN and COMMIT included, as `tillpoint_database_round_trips_total` counts them). With
profiling on, a second pass under cProfile (every thread) says where that CPU goes: self
time by package, a C builtin's time given to the package that called it. `--sql` prints
one request's statements of each kind.

Needs a PostgreSQL it may create databases on (TILLPOINT_BENCH_POSTGRES_URL, default
postgresql://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import cProfile
import logging
import os
import pstats
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import in_process_settings, scratch_engine  # noqa: E402
from server import writebehind  # noqa: E402
from server.app import create_app  # noqa: E402
from server.notifications.worker import NotificationWorker  # noqa: E402
from sync.client import DeviceAuth, SyncClient  # noqa: E402
from sync.wire import public_key_text  # noqa: E402
from tests.server.api import (  # noqa: E402
    Actor,
    Shop,
    buy_card,
    buy_voucher,
    create_deal,
    new_key,
    open_shop,
    sign_up,
)

Request = Callable[[], Any]


@dataclass
class Kind:
    name: str
    request: Request
    expected: int


@dataclass
class Figures:
    cpu_ms: float
    postgres_ms: float
    statements: float
    last_request: list[str]
    after_cpu_ms: float  # the notification worker's round after them, per request
    after_statements: float


class Statements:
    """Every round trip the engine makes (a statement, or the COMMIT), as the server's
    `tillpoint_database_round_trips_total` counts them, and its backends' pids. What rides
    along without a round trip of its own is listed with the trip it goes with: the
    transaction's BEGIN, and the writes queued by `writebehind.later_sql`."""

    def __init__(self, engine: Engine) -> None:
        self.sent: list[str] = []
        self.riding: list[str] = []
        self.backends: set[int] = set()
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "begin", lambda *_: self.riding.append("BEGIN"))
        event.listen(engine, "commit", lambda *_: self._trip("COMMIT"))
        event.listen(engine, "connect", self._connected)
        queue = writebehind.later_sql

        def queued(connection: Any, sql: str, params: Any) -> None:
            self.riding.append(sql)
            queue(connection, sql, params)

        writebehind.later_sql = queued  # type: ignore[assignment]
        on_driver = writebehind.rows_now

        def sent_on_driver(connection: Any, sql: str, params: Any) -> Any:
            self._trip(sql)  # a statement sent on psycopg itself (`db.driver_rows`)
            return on_driver(connection, sql, params)

        writebehind.rows_now = sent_on_driver  # type: ignore[assignment]

    def _statement(self, _c: object, _cur: object, statement: str, *_: object) -> None:
        self._trip(statement)

    def _trip(self, statement: str) -> None:
        with_it = "".join(f"{' '.join(s.split())}\n" for s in self.riding)
        self.riding.clear()
        self.sent.append(with_it + " ".join(statement.split()))

    def _connected(self, dbapi_connection: Any, _record: object) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            self.backends.add(int(cursor.fetchone()[0]))

    def postgres_seconds(self) -> float:
        ticks, used = os.sysconf("SC_CLK_TCK"), 0
        for pid in self.backends:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            used += int(fields[11]) + int(fields[12])
        return used / ticks


def measure(kind: Kind, statements: Statements, count: int, worker: NotificationWorker) -> Figures:
    kind.request()  # warm: caches, the first use of each statement
    worker.run_once(reminders=False)
    sent_before, pg_before = len(statements.sent), statements.postgres_seconds()
    cpu = 0.0
    start = len(statements.sent)
    for _ in range(count):
        start = len(statements.sent)
        before = time.process_time()
        response = kind.request()
        cpu += time.process_time() - before
        assert response.status_code == kind.expected, (kind.name, response.text)
    pg_after, sent_after = statements.postgres_seconds(), len(statements.sent)
    last = statements.sent[start:]
    before = time.process_time()
    worker.run_once(reminders=False)  # what the requests left the worker to do
    return Figures(
        cpu / count * 1000,
        (pg_after - pg_before) / count * 1000,
        (sent_after - sent_before) / count,
        last,
        (time.process_time() - before) / count * 1000,
        (len(statements.sent) - sent_after) / count,
    )


LAYERS = (
    ("sqlalchemy/orm/", "SQLAlchemy ORM"),
    ("sqlalchemy/", "SQLAlchemy Core and engine"),
    ("psycopg", "psycopg (the driver)"),
    ("pydantic", "pydantic"),
    ("fastapi/", "FastAPI"),
    ("starlette/", "Starlette"),
    ("anyio/", "anyio (threads, portal)"),
    ("httpx/", "test client (httpx)"),
    ("/server/", "Tillpoint server"),
    ("/sync/", "Tillpoint sync (tokens, money)"),
)


def _layer(filename: str) -> str:
    for part, name in LAYERS:
        if part in filename:
            return name
    return "standard library and other"


def by_layer(stats: pstats.Stats) -> dict[str, float]:
    """Self time by layer; a C builtin's given to its callers' layers."""
    seconds: dict[str, float] = defaultdict(float)
    for (filename, _line, _name), entry in stats.stats.items():  # type: ignore[attr-defined]
        _cc, _nc, own, _cumulative, callers = entry
        if filename != "~":
            seconds[_layer(filename)] += own
            continue
        shared = sum(caller[2] for caller in callers.values()) or 1.0
        for (caller_file, _l, _n), caller in callers.items():
            seconds[_layer(caller_file)] += own * caller[2] / shared
    return seconds


@contextmanager
def every_thread_profiled() -> Iterator[list[cProfile.Profile]]:
    """A cProfile of each thread started inside (the test client's portal and the app's
    worker threads); the caller's thread too."""
    profiles: list[cProfile.Profile] = []

    def start(*_: object) -> None:
        profile = cProfile.Profile(time.thread_time)  # CPU, not time spent waiting
        profiles.append(profile)
        profile.enable()  # replaces this hook in the thread it runs in

    mine = cProfile.Profile(time.thread_time)
    profiles.append(mine)
    threading.setprofile(start)
    mine.enable()
    try:
        yield profiles
    finally:
        mine.disable()
        threading.setprofile(None)  # type: ignore[arg-type]


def profile(
    app: Any, make: Callable[[TestClient], Kind], count: int, top: int = 0
) -> dict[str, float]:
    with every_thread_profiled() as profiles, TestClient(app) as client:
        kind = make(client)
        kind.request()
        for _ in range(count):
            kind.request()
    stats = pstats.Stats(profiles[0])
    for other in profiles[1:]:
        stats.add(other)
    if top:
        stats.sort_stats("tottime").print_stats(top)
    return by_layer(stats)


def paired_terminal(client: TestClient, shop: Shop) -> DeviceAuth:
    """A terminal paired with `shop`, as the tests pair one: its credentials."""
    code = shop.owner.post(f"/api/v1/businesses/{shop.business_id}/pairing-codes").json()
    key = public_key_text(Ed25519PrivateKey.generate().public_key())
    paired = SyncClient("", http=client).pair(code["code"], key, f"Till {uuid.uuid4().hex[:6]}")
    return DeviceAuth(paired.device_id, paired.secret)


def kinds(
    client: TestClient, shop: Shop, customer: Actor, count: int
) -> list[Callable[[TestClient], Kind]]:
    """The requests measured, `count` of each, each made for a client (its own, when
    profiled)."""
    bought = buy_card(customer, shop, 9_000_000).json()
    card = bought["id"]
    deal = create_deal(shop).json()["id"]
    path = f"/api/v1/businesses/{shop.business_id}"
    vouchers: list[str] = []

    def actor(client: TestClient, who: Actor) -> Actor:
        return Actor(client, who.id, who.email, who.headers)

    def health(c: TestClient) -> Kind:
        return Kind("/healthz (the floor of any request)", lambda: c.get("/healthz"), 200)

    def redemption(c: TestClient) -> Kind:
        cashier = actor(c, shop.cashier)
        return Kind(
            "till redemption of a gift card",
            lambda: cashier.post(
                f"{path}/redemptions", {"card_id": card, "amount_minor": 1}, key=new_key()
            ),
            200,
        )

    def terminal_redemption(c: TestClient) -> Kind:
        till = paired_terminal(c, shop)
        return Kind(
            "terminal online redemption",
            lambda: c.post(
                "/api/v1/terminal/redemptions",
                json={"token": bought["token"], "amount_minor": 1},
                headers={**till.header, "Idempotency-Key": new_key()},
            ),
            200,
        )

    def purchase(c: TestClient) -> Kind:
        buyer = actor(c, customer)
        return Kind(
            "gift-card purchase",
            lambda: buyer.post(
                f"{path}/gift-cards",
                {"amount_minor": 1000, "payment": {"card_number": "4242424242424242"}},
                key=new_key(),
            ),
            201,
        )

    def voucher_purchase(c: TestClient) -> Kind:
        buyer = actor(c, customer)

        def buy() -> Any:
            response = buy_voucher(buyer, deal)
            if response.status_code == 201:
                vouchers.append(response.json()["id"])
            return response

        return Kind("voucher purchase", buy, 201)

    def voucher_redemption(c: TestClient) -> Kind:
        cashier = actor(c, shop.cashier)
        # Enough for this pass and the profiled one (a warm-up each), bought here, before
        # the profiler starts; the voucher purchases' pass may have bought some.
        while len(vouchers) < 2 * (count + 1):
            vouchers.append(buy_voucher(customer, deal).json()["id"])
        return Kind(
            "voucher redemption at the till",
            lambda: cashier.post(
                f"{path}/voucher-redemptions", {"voucher_id": vouchers.pop()}, key=new_key()
            ),
            200,
        )

    return [health, redemption, terminal_redemption, purchase, voucher_purchase, voucher_redemption]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=200, help="of each kind (default 200)")
    parser.add_argument("--sql", action="store_true", help="print one request's statements")
    parser.add_argument("--no-profile", action="store_true", help="skip the cProfile pass")
    parser.add_argument(
        "--top", type=int, default=0, help="also print the N functions with most self time"
    )
    parser.add_argument(
        "--only", default="", help="profile only the requests whose name has this in it"
    )
    args = parser.parse_args()
    with scratch_engine("tillpoint_profile") as engine:
        statements = Statements(engine)
        with tempfile.TemporaryDirectory() as data:
            settings = in_process_settings(Path(data))
            app = create_app(settings, engine=engine)
            logging.getLogger("tillpoint.http").disabled = True  # a line per request
            worker = NotificationWorker(app.state.sessions, settings)
            with TestClient(app) as client:
                shop, customer = open_shop(client), sign_up(client, "customer")
                makers = kinds(client, shop, customer, args.requests)
                print(
                    f"One request at a time, in process, PostgreSQL; {args.requests} of each "
                    "(CPU ms per request; statements counted as round trips)"
                )
                print(
                    f"{'request':<40} {'server':>7} {'pg':>6} {'trips':>6}   "
                    "then the notification worker's round: CPU ms, trips per request"
                )
                for make in makers:
                    kind = make(client)
                    figures = measure(kind, statements, args.requests, worker)
                    print(
                        f"{kind.name:<40} {figures.cpu_ms:>7.2f} {figures.postgres_ms:>6.2f} "
                        f"{figures.statements:>6.1f}   {figures.after_cpu_ms:>7.2f} "
                        f"{figures.after_statements:>6.1f}",
                        flush=True,
                    )
                    if args.sql:
                        for sent in figures.last_request:  # a trip, what rides with it first
                            *riding, trip = sent.split("\n")
                            for with_it in riding:
                                print(f"      + {with_it[:154]}")
                            print(f"    {trip[:160]}")
            if args.no_profile:
                return
            for make in makers:
                name = make(client).name
                if args.only not in name:
                    continue
                layers = profile(app, make, args.requests, args.top)
                total = sum(layers.values()) or 1.0
                print(f"-- {name}: where the CPU goes (cProfile, self time by layer)")
                for layer, spent in sorted(layers.items(), key=lambda item: -item[1]):
                    print(
                        f"    {layer:<36} {spent / total:>5.0%} "
                        f"{spent / (args.requests + 1) * 1000:>6.2f} ms (profiled)"
                    )


if __name__ == "__main__":
    main()
