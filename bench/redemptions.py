"""The hot paths over HTTP against PostgreSQL, with 1 and 2 server workers, next to
pgbench's TPC-B-like transactions per second on the same server as the ceiling.

    .venv/bin/python bench/redemptions.py [--seconds 5] [--no-sql-bound]

For each worker count, one server is started on a fresh database and driven by wrk:
online gift-card redemptions at the till, gift-card purchases and voucher redemptions,
each with 16 and then 64 concurrent tills (keep-alive connections, each request with its
own Idempotency-Key), all at one business and spread over 16 businesses (redemptions and
purchases). Printed per load: answers per second and the ratio to pgbench, the CPU the
server's processes and PostgreSQL spent per answer (from /proc), the database round
trips per answer as the server counts them itself (`tillpoint_database_round_trips_total`
on /metrics), and the p50/p95/p99 latency wrk saw. Also the server's /healthz rate (the
floor of any request) and, last, a redemption's statements as one PL/pgSQL call driven by
pgbench with no server (`bench/redemption_in_sql.sql`, an upper bound).

Vouchers are used once: each voucher redemption load spends vouchers made for it in the
database (copies of one the voucher purchase load bought, their sale on the ledger), more
than it can redeem in its time.

Needs a PostgreSQL it may create databases on (TILLPOINT_BENCH_POSTGRES_URL, default
postgresql://postgres@127.0.0.1:5432/postgres), `pgbench` and `wrk` on the PATH (Debian:
postgresql-client, wrk), and a Redis for the workers (TILLPOINT_BENCH_REDIS_URL, default
redis://127.0.0.1:6379/0). Goals (issue 13): redemptions/s >= 0.15 x pgbench with 2
workers, server CPU <= 2.5 ms and PostgreSQL <= 1.0 ms a redemption, <= 6 round trips,
p99 <= 100 ms at 64 tills. Each load runs --seconds (after a 2 s warm-up for the first):
with the default 5 s the whole run takes about four minutes.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    ADMIN_URL,
    PASSWORD,
    free_port,
    recreate,
    tillpoint,
    wait_healthy,
)

BUSINESSES = 16  # the first is "one business"; all of them are "spread"
CARDS_EACH = 12
TILLS = (16, 64)
METRICS_TOKEN = "bench-metrics"


@dataclass
class Shop:
    business: str
    cashier: str  # the cashier's Authorization header
    cards: list[str]
    deal: str


@dataclass
class Seeded:
    shops: list[Shop]
    customer: str  # a customer's Authorization header


def seed(base: str) -> Seeded:
    """BUSINESSES shops, each with a cashier, a deal and CARDS_EACH cards with plenty on
    them, bought by one customer."""

    def signup(role: str) -> str:
        email = f"{role}-{uuid.uuid4().hex[:8]}@bench.example"
        httpx.post(
            f"{base}/api/v1/auth/signup", json={"email": email, "password": PASSWORD, "role": role}
        ).raise_for_status()
        return login(email)

    def login(email: str) -> str:
        token = httpx.post(
            f"{base}/api/v1/auth/login", json={"email": email, "password": PASSWORD}
        ).json()["access_token"]
        return f"Bearer {token}"

    customer = signup("customer")
    shops = []
    with httpx.Client(base_url=base, timeout=30) as client:
        for n in range(BUSINESSES):
            owner = {"Authorization": signup("vendor")}
            business = client.post(
                "/api/v1/businesses",
                headers=owner,
                json={"name": f"Bench Café {n}", "category": "cafe", "currency": "GBP"},
            ).json()["id"]
            cashier_email = f"till-{uuid.uuid4().hex[:8]}@bench.example"
            client.post(
                f"/api/v1/businesses/{business}/staff",
                headers=owner,
                json={"email": cashier_email, "password": PASSWORD},
            ).raise_for_status()
            now = datetime.now(UTC)
            deal = client.post(
                f"/api/v1/businesses/{business}/deals",
                headers=owner,
                json={
                    "title": "Two coffees for one",
                    "original_price_minor": 680,
                    "deal_price_minor": 340,
                    "starts_at": (now - timedelta(hours=1)).isoformat(),
                    "ends_at": (now + timedelta(days=7)).isoformat(),
                },
            )
            deal.raise_for_status()
            cards = []
            for i in range(CARDS_EACH):
                response = client.post(
                    f"/api/v1/businesses/{business}/gift-cards",
                    headers={"Authorization": customer, "Idempotency-Key": f"seed-{n}-{i}"},
                    json={
                        "amount_minor": 9_000_000,
                        "payment": {"card_number": "4242424242424242"},
                    },
                )
                response.raise_for_status()
                cards.append(response.json()["id"])
            shops.append(Shop(business, login(cashier_email), cards, deal.json()["id"]))
    return Seeded(shops, customer)


# Each request: a random shop of the load's list, its item, a new Idempotency-Key. `done`
# prints the latency percentiles wrk measured (microseconds).
LUA = """
local shops = {%(shops)s}
local n = 0
local run, thread
local counter = 1
function setup(t)
  t:set("id", counter)
  counter = counter + 1
end
function init(args)
  run = args[1]
  thread = tostring(wrk.thread:get("id"))
  math.randomseed(tonumber(run) + tonumber(thread))
end
function request()
  n = n + 1
  local shop = shops[math.random(1, #shops)]
  local headers = {["Authorization"] = shop.auth, ["Content-Type"] = "application/json",
                   ["Idempotency-Key"] = run .. "-" .. thread .. "-" .. n}
  return wrk.format("POST", shop.path, headers, %(body)s)
end
local failed = nil
function response(status, headers, body)
  if status >= 300 and failed == nil then
    failed = status .. " " .. body
    io.write("FAILED " .. failed .. "\\n")
  end
end
function done(summary, latency, requests)
  for _, p in ipairs({50, 95, 99}) do
    io.write(string.format("P%%d %%d\\n", p, latency:percentile(p)))
  end
end
"""

# Vouchers are spent once: each wrk thread takes the next of its own list.
VOUCHER_LUA = """
local ids = {%(ids)s}
local path = "%(path)s"
local auth = "%(auth)s"
local n, run, thread, first, step = 0
local counter = 1
function setup(t)
  t:set("first", counter)
  counter = counter + 1
end
function init(args)
  run = args[1]
  first = wrk.thread:get("first")
  thread = tostring(first)
  step = 2
end
function request()
  local i = first + n * step
  n = n + 1
  local id = ids[i] or "all-used"
  local headers = {["Authorization"] = auth, ["Content-Type"] = "application/json",
                   ["Idempotency-Key"] = run .. "-" .. thread .. "-" .. n}
  return wrk.format("POST", path, headers, '{"voucher_id":"' .. id .. '"}')
end
local failed = nil
function response(status, headers, body)
  if status >= 300 and failed == nil then
    failed = status .. " " .. body
    io.write("FAILED " .. failed .. "\\n")
  end
end
function done(summary, latency, requests)
  for _, p in ipairs({50, 95, 99}) do
    io.write(string.format("P%%d %%d\\n", p, latency:percentile(p)))
  end
end
"""


def redemption_script(shops: list[Shop]) -> str:
    entries = ",".join(
        f'{{path="/api/v1/businesses/{s.business}/redemptions", auth="{s.cashier}", '
        f"cards={{{','.join(repr(c).replace(chr(39), chr(34)) for c in s.cards)}}}}}"
        for s in shops
    )
    body = '\'{"card_id":"\' .. shop.cards[math.random(1, #shop.cards)] .. \'","amount_minor":1}\''
    return LUA % {"shops": entries, "body": body}


def purchase_script(shops: list[Shop], customer: str, path: str, body: str) -> str:
    entries = ",".join(
        f'{{path="{path.format(business=s.business, deal=s.deal)}", auth="{customer}"}}'
        for s in shops
    )
    return LUA % {"shops": entries, "body": repr(body)}


GIFT_CARD = '{"amount_minor":1000,"payment":{"card_number":"4242424242424242"}}'
VOUCHER = '{"payment":{"card_number":"4242424242424242"}}'


@dataclass
class Load:
    rate: float  # answers per second
    requests: int  # answers in all
    failures: int  # answers other than 2xx, and socket errors
    cpu_server: float  # CPU seconds of the server's processes during the run
    cpu_postgres: float  # and of PostgreSQL's
    round_trips: float  # database round trips the server counted during the run
    latency_ms: tuple[float, float, float]  # p50, p95, p99


def wrk(server: int, base: str, clients: int, seconds: float, script: Path | None = None) -> Load:
    """`clients` keep-alive connections to `base` for `seconds`, from wrk; `server` is the
    server's process id, whose CPU time (and its workers') is measured."""
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not on the PATH (Debian: apt-get install wrk)")
    # A 30 s timeout: an answer slower than wrk's default 2 s still counts as answered.
    command = ["wrk", "-t2", f"-c{clients}", f"-d{max(1, round(seconds))}s", "--timeout", "30s"]
    if script is not None:
        command += ["-s", str(script)]
    command.append(base + ("" if script is not None else "/healthz"))
    if script is not None:  # the script's argument: this run's prefix for its keys
        command += ["--", str(random.randrange(10**9))]
    before, trips_before = cpu_seconds(server), round_trips(base)
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    after, trips_after = cpu_seconds(server), round_trips(base)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if rate is None:
        raise SystemExit(f"could not read wrk's output:\n{output}")
    refused = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    broken = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    failures = (int(refused.group(1)) if refused else 0) + (
        sum(int(n) for n in broken.groups()) if broken else 0
    )
    first_failure = re.search(r"^FAILED (.*)$", output, re.MULTILINE)
    if first_failure:
        print(f"    first failure: {first_failure.group(1)[:300]}", flush=True)
    percentiles = dict(re.findall(r"^P(\d+) (\d+)$", output, re.MULTILINE))
    latency = tuple(int(percentiles.get(p, 0)) / 1000 for p in ("50", "95", "99"))
    answered = re.search(r"(\d+) requests in", output)
    return Load(
        float(rate.group(1)),
        int(answered.group(1)) if answered else 0,
        failures,
        *(a - b for a, b in zip(after, before, strict=True)),
        round_trips=trips_after - trips_before,
        latency_ms=(latency[0], latency[1], latency[2]),
    )


def round_trips(base: str) -> float:
    """The server's own count of database round trips so far, all workers together."""
    metrics = httpx.get(
        f"{base}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=60
    ).text
    found = re.search(r"^tillpoint_database_round_trips_total ([\d.e+]+)$", metrics, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def cpu_seconds(server: int) -> tuple[float, float]:
    """CPU seconds used so far by the server process `server` with its workers, and by
    PostgreSQL's processes, from /proc (0, 0 where there is none).

    PostgreSQL's figure is the postmaster's and its children's (every backend, exiting ones
    included: they are its children until it reaps them), plus what its reaped children
    used (its fields cutime and cstime), so it only grows as connections come and go. A
    backend that is reaped while /proc is read would be in neither: when the reaped time
    moved during a reading, it is read again."""
    proc = Path("/proc")
    if not proc.is_dir():
        return 0.0, 0.0
    for _ in range(10):
        processes = _processes(proc)
        postmaster = _postmaster(processes)
        if postmaster is None:
            return _served(processes, server), 0.0
        reaped = processes[postmaster].reaped
        postgres = sum(p.used for pid, p in processes.items() if postmaster in {pid, p.parent})
        again = _processes(proc, only=postmaster).get(postmaster)
        if again is not None and again.reaped == reaped:
            break
    return _served(processes, server), postgres + reaped


@dataclass(frozen=True)
class _Process:
    parent: int
    postgres: bool  # its command line says so (a process that has exited has none)
    used: float  # CPU seconds, its own
    reaped: float  # CPU seconds of its children it has reaped


def _processes(proc: Path, only: int | None = None) -> dict[int, _Process]:
    ticks, found = os.sysconf("SC_CLK_TCK"), {}
    entries = [proc / str(only)] if only is not None else proc.iterdir()
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        found[int(entry.name)] = _Process(
            parent=int(fields[1]),
            postgres=command.startswith(b"postgres") or b"/bin/postgres" in command[:80],
            used=(int(fields[11]) + int(fields[12])) / ticks,
            reaped=(int(fields[13]) + int(fields[14])) / ticks,
        )
    return found


def _postmaster(processes: dict[int, _Process]) -> int | None:
    """PostgreSQL's first process: a PostgreSQL process whose parent is not one."""
    for pid, process in processes.items():
        parent = processes.get(process.parent)
        if process.postgres and not (parent is not None and parent.postgres):
            return pid
    return None


def _served(processes: dict[int, _Process], server: int) -> float:
    """The server and its workers."""
    return sum(p.used for pid, p in processes.items() if server in {pid, p.parent})


def measure(workers: int, seconds: float, report: Callable[[str, Load], None]) -> tuple[str, str]:
    """Every load against `workers` server processes on a fresh database, each reported as
    it ends; the main business's id and its cashier's user id (for the SQL bound)."""
    url = recreate("tillpoint_bench")
    with tempfile.TemporaryDirectory() as data:
        metrics = Path(data) / "metrics"
        metrics.mkdir()
        env = {
            "DATABASE_URL": url,
            "TILLPOINT_DATA_DIR": data,
            "TILLPOINT_REDEMPTIONS_PER_MINUTE": "100000000",
            # Seed cards hold £90,000 each, all paid with one test card: past every money limit.
            "TILLPOINT_MAX_CARD_BALANCE_MINOR": str(10**12),
            "TILLPOINT_MAX_DAILY_LOAD_PER_PAYMENT_CARD_MINOR": str(10**15),
            "TILLPOINT_MAX_BUSINESS_CARD_LIABILITY_MINOR": str(10**15),
            "TILLPOINT_ARGON2_TIME_COST": "1",
            "TILLPOINT_ARGON2_MEMORY_KIB": "64",
            "TILLPOINT_METRICS_TOKEN": METRICS_TOKEN,
            "PROMETHEUS_MULTIPROC_DIR": str(metrics),  # the workers' counters, added up
            # Workers share rate limits and the deny list through Redis (as in production).
            "TILLPOINT_REDIS_URL": os.environ.get(
                "TILLPOINT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"
            ),
            "TILLPOINT_REDIS_PREFIX": f"bench-{uuid.uuid4().hex}:",
        }
        migrate = tillpoint("server", "migrate", env=env)
        if migrate.wait() != 0:
            raise SystemExit("migration failed")
        port = free_port()
        server = tillpoint("server", "--port", str(port), "--workers", str(workers), env=env)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(base)
            seeded = seed(base)
            main_shop, spread = seeded.shops[:1], seeded.shops

            def run(name: str, text: str, clients: int, length: float = seconds) -> Load:
                script = Path(data) / f"{name.replace(' ', '-')}.lua"
                script.write_text(text)
                return wrk(server.pid, base, clients, length, script)

            report("/healthz (the floor of any request)", wrk(server.pid, base, 16, seconds))
            run("warm up", redemption_script(spread), 16, min(2.0, seconds))
            for shops, where in ((main_shop, "one business"), (spread, "16 businesses")):
                for clients in TILLS:
                    load = run("redeem", redemption_script(shops), clients)
                    report(f"redemptions, {clients} tills, {where}", load)
            for shops, where in ((main_shop, "one business"), (spread, "16 businesses")):
                for clients in TILLS:
                    script = purchase_script(
                        shops,
                        seeded.customer,
                        "/api/v1/businesses/{business}/gift-cards",
                        GIFT_CARD,
                    )
                    report(
                        f"gift-card purchases, {clients} tills, {where}",
                        run("buy", script, clients),
                    )
            script = purchase_script(
                main_shop, seeded.customer, "/api/v1/deals/{deal}/vouchers", VOUCHER
            )
            report(
                "voucher purchases, 64 tills, one business",
                run("buy-vouchers", script, 64, 2.5 * seconds),
            )
            for clients in TILLS:
                part = seed_vouchers(url, main_shop[0].business, VOUCHERS_PER_SECOND * seconds)
                script = VOUCHER_LUA % {
                    "ids": ",".join(f'"{v}"' for v in part),
                    "path": f"/api/v1/businesses/{main_shop[0].business}/voucher-redemptions",
                    "auth": main_shop[0].cashier,
                }
                report(
                    f"voucher redemptions, {clients} tills, one business",
                    run("redeem-vouchers", script, clients),
                )
            return main_shop[0].business, cashier_id(url, main_shop[0].business)
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=30)


VOUCHERS_PER_SECOND = 2_000  # more than any voucher load redeems: none runs out


def seed_vouchers(url: str, business: str, count: float) -> list[str]:
    """`count` new vouchers of `business`, copies of one the purchase load bought, their
    sale posted to the ledger as one transfer: buying thousands through the API would
    take longer than the loads that spend them. Their ids."""
    prefix = uuid.uuid4().hex[:5]
    with psycopg.connect(url) as connection:
        template = connection.execute(
            "SELECT id, face_minor, currency FROM vouchers WHERE business_id = %s "
            "AND status = 'issued' ORDER BY id LIMIT 1",
            (business,),
        ).fetchone()
        if template is None:
            raise SystemExit("the voucher purchase load bought no voucher to copy")
        ids = [f"{prefix}{n:06d}" for n in range(int(count))]
        connection.execute(
            "INSERT INTO vouchers (id, deal_id, business_id, owner_id, face_minor, currency, "
            "token_id, token, status, issued_at, expires_at, version) "
            "SELECT new.id, v.deal_id, v.business_id, v.owner_id, v.face_minor, v.currency, "
            "v.token_id, v.token, 'issued', v.issued_at, v.expires_at, 1 "
            "FROM vouchers v, unnest(%s::text[]) AS new(id) WHERE v.id = %s",
            (ids, template[0]),
        )
        total = int(template[1]) * len(ids)
        accounts = dict(
            connection.execute(
                "SELECT purpose, id FROM ledger_accounts WHERE business_id = %s "
                "AND currency = %s AND purpose IN ('clearing', 'vouchers')",
                (business, template[2]),
            ).fetchall()
        )
        connection.execute(
            "INSERT INTO transfers (operation_id, kind, debit_account_id, credit_account_id, "
            "amount_minor, currency, memo, created_at) "
            "VALUES (%s, 'voucher-sale', %s, %s, %s, %s, 'benchmark vouchers', now())",
            (prefix, accounts["clearing"], accounts["vouchers"], total, template[2]),
        )
        for purpose, sign in (("clearing", -1), ("vouchers", 1)):
            connection.execute(
                "UPDATE ledger_accounts SET balance_minor = balance_minor + %s WHERE id = %s",
                (sign * total, accounts[purpose]),
            )
    return ids


def cashier_id(url: str, business: str) -> str:
    with psycopg.connect(url) as connection:
        row = connection.execute(
            "SELECT user_id FROM staff WHERE business_id = %s", (business,)
        ).fetchone()
    if row is None:
        raise SystemExit("the benchmark database has no cashier")
    return str(row[0])


def pgbench_tps(clients: int, seconds: float) -> tuple[float, float]:
    """pgbench's TPC-B-like rate, and PostgreSQL's CPU seconds per transaction."""
    url = recreate("tillpoint_pgbench")
    subprocess.run(["pgbench", "-q", "-i", "-s", "10", url], check=True, capture_output=True)
    return run_pgbench(url, clients, seconds)


def redemptions_in_sql(
    clients: int, seconds: float, business: str, cashier: str
) -> tuple[float, float]:
    """The upper bound: the redemption's statements as one PL/pgSQL call per redemption
    (bench/redemption_in_sql.sql), driven by pgbench on the database `measure` left behind,
    on the cards of its first business."""
    url = ADMIN_URL.rsplit("/", 1)[0] + "/tillpoint_bench"
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute((ROOT / "bench" / "redemption_in_sql.sql").read_text())
        connection.execute("DROP TABLE bench_cards")
        connection.execute(
            "CREATE TABLE bench_cards AS SELECT row_number() OVER (ORDER BY id) AS n, id "
            "FROM gift_cards WHERE business_id = %s",
            (business,),
        )
        cards = connection.execute("SELECT count(*) FROM bench_cards").fetchone()
    assert cards is not None
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "redeem.pgbench"
        script.write_text(
            f"\\set n random(1, {cards[0]})\n\\set k random(1, 1000000000000)\n"
            f"SELECT bench_redeem('{cashier}', :client_id || '-' || :k, :n, 1);\n"
        )
        return run_pgbench(url, clients, seconds, "-f", str(script))


def run_pgbench(url: str, clients: int, seconds: float, *script: str) -> tuple[float, float]:
    if not shutil.which("pgbench"):
        raise SystemExit("pgbench is not on the PATH (Debian: apt-get install postgresql-client)")
    busy_before, pgbench_before = machine_busy_seconds(), children_cpu_seconds()
    result = subprocess.run(
        ["pgbench", "-n", "-c", str(clients), "-j", "2", "-T", str(int(seconds)), *script, url],
        check=True,
        capture_output=True,
        text=True,
    )
    # PostgreSQL's share: the machine's busy time less pgbench's own (its connections'
    # backends exit with it, so they cannot be read from /proc afterwards).
    postgres = machine_busy_seconds() - busy_before - (children_cpu_seconds() - pgbench_before)
    match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", result.stdout)
    if match is None:
        raise SystemExit(f"could not read pgbench's output:\n{result.stdout}")
    tps = float(match.group(1))
    return tps, max(0.0, postgres) / (tps * int(seconds))


def machine_busy_seconds() -> float:
    """CPU seconds all CPUs have spent busy since boot (Linux; 0 elsewhere)."""
    try:
        fields = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return 0.0
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=5, help="length of each load (default 5)")
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=[1, 2],
        help="server worker counts to measure, one server each (default: 1 2)",
    )
    parser.add_argument(
        "--no-sql-bound",
        action="store_true",
        help="skip the last line, a redemption as one PL/pgSQL call",
    )
    args = parser.parse_args()
    print(
        f"The hot paths over HTTP on PostgreSQL — {os.cpu_count()} CPUs, "
        f"{args.seconds:.0f} s a load, load average {os.getloadavg()[0]:.1f} before"
    )
    ceiling, postgres_cpu = pgbench_tps(16, args.seconds)
    print(f"pgbench TPC-B-like (scale 10, 16 clients): {ceiling:,.0f} tx/s (the ceiling)", end="")
    print(f", PostgreSQL {postgres_cpu * 1000:.2f} ms CPU a transaction" if postgres_cpu else "")
    print(
        f"{'load':<58} {'/s':>7} {'ratio':>6} {'server':>7} {'pg':>6} {'trips':>6} "
        f"{'p50':>6} {'p95':>6} {'p99':>6}  (CPU ms and round trips per answer; latency ms)"
    )

    def report(name: str, load: Load) -> None:
        done = max(1, load.requests)
        failed = f"  [{load.failures} failed]" if load.failures else ""
        p50, p95, p99 = load.latency_ms
        print(
            f"{name:<58} {load.rate:>7,.0f} {load.rate / ceiling:>6.3f} "
            f"{load.cpu_server / done * 1000:>7.2f} {load.cpu_postgres / done * 1000:>6.2f} "
            f"{load.round_trips / done:>6.1f} {p50:>6.1f} {p95:>6.1f} {p99:>6.1f}{failed}",
            flush=True,
        )

    business = cashier = ""
    for workers in args.workers:
        print(f"-- {workers} worker{'s' if workers > 1 else ''}")
        business, cashier = measure(workers, args.seconds, report)
    if not args.no_sql_bound:
        rate, postgres_cpu = redemptions_in_sql(16, args.seconds, business, cashier)
        print(
            f"a redemption as one SQL call (pgbench, no server): {rate:,.0f} /s, ratio "
            f"{rate / ceiling:.2f}, PostgreSQL {postgres_cpu * 1000:.2f} ms CPU each"
        )
    print(
        "Goals with 2 workers: redemptions >= 0.15 of pgbench, server CPU <= 2.5 ms, "
        "PostgreSQL <= 1.0 ms, <= 6 round trips, p99 <= 100 ms at 64 tills"
    )


if __name__ == "__main__":
    main()
