"""Online redemptions per second over HTTP against PostgreSQL, with 1 and 2 server workers,
next to pgbench's TPC-B-like transactions per second on the same server as the ceiling.

    .venv/bin/python bench/redemptions.py [--seconds 10] [--clients 16]

Needs a PostgreSQL it may create databases on (TILLPOINT_BENCH_POSTGRES_URL, default
postgresql://postgres@127.0.0.1:5432/postgres), `pgbench` and `wrk` on the PATH (Debian:
postgresql-client, wrk), and a Redis for the workers (TILLPOINT_BENCH_REDIS_URL, default
redis://127.0.0.1:6379/0). Goal (issue 2/5): redemptions/s >= 0.3 x pgbench tps.

The load comes from wrk (C, one process), not from Python threads, so the load generator
takes as little as it can of the cores the server and PostgreSQL share. Next to each
redemption rate the script prints the same server's /healthz rate (a pooled connection,
SELECT 1: less than any redemption does, so no redemption rate can pass it) and, on Linux,
the CPU time the server workers and PostgreSQL spent per redemption. Last, the upper bound:
the same statements as one PL/pgSQL call per redemption (bench/redemption_in_sql.sql),
driven by pgbench with no server in between.
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
from dataclasses import dataclass
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

CARDS = 200


def seed(base: str) -> tuple[str, dict[str, str], list[str]]:
    """A shop, its cashier, and CARDS cards with plenty on them."""

    def signup(role: str) -> dict[str, str]:
        email = f"{role}-{uuid.uuid4().hex[:8]}@bench.example"
        httpx.post(
            f"{base}/api/v1/auth/signup", json={"email": email, "password": PASSWORD, "role": role}
        ).raise_for_status()
        return login(email)

    def login(email: str) -> dict[str, str]:
        token = httpx.post(
            f"{base}/api/v1/auth/login", json={"email": email, "password": PASSWORD}
        ).json()["access_token"]
        return {"Authorization": f"Bearer {token}"}

    owner = signup("vendor")
    business = httpx.post(
        f"{base}/api/v1/businesses",
        headers=owner,
        json={"name": "Bench Café", "category": "cafe", "currency": "GBP"},
    ).json()["id"]
    cashier_email = f"till-{uuid.uuid4().hex[:8]}@bench.example"
    httpx.post(
        f"{base}/api/v1/businesses/{business}/staff",
        headers=owner,
        json={"email": cashier_email, "password": PASSWORD},
    ).raise_for_status()
    customer = signup("customer")
    cards = []
    with httpx.Client(headers=customer) as client:
        for i in range(CARDS):
            response = client.post(
                f"{base}/api/v1/businesses/{business}/gift-cards",
                headers={"Idempotency-Key": f"seed-{i}"},
                json={"amount_minor": 9_000_000, "payment": {"card_number": "4242424242424242"}},
            )
            response.raise_for_status()
            cards.append(response.json()["id"])
    return business, login(cashier_email), cards


REDEEM_LUA = """
local cards = {%(cards)s}
local path = "/api/v1/businesses/%(business)s/redemptions"
local headers = {["Authorization"] = "%(auth)s", ["Content-Type"] = "application/json"}
local n = 0
function init(args)
  run = args[1]
  thread = tostring(math.random(1, 1000000000))
  math.randomseed(tonumber(run) + tonumber(thread))
end
function request()
  n = n + 1
  headers["Idempotency-Key"] = run .. "-" .. thread .. "-" .. n
  local body = '{"card_id":"' .. cards[math.random(1, #cards)] .. '","amount_minor":1}'
  return wrk.format("POST", path, headers, body)
end
"""


@dataclass
class Load:
    rate: float  # answers per second
    failures: int  # answers other than 2xx, and socket errors
    cpu_server: float  # CPU seconds of the server's processes during the run
    cpu_postgres: float  # and of PostgreSQL's


def wrk(server: int, url: str, clients: int, seconds: float, script: Path | None = None) -> Load:
    """`clients` keep-alive connections to `url` for `seconds`, from wrk; `server` is the
    server's process id, whose CPU time (and its workers') is measured."""
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not on the PATH (Debian: apt-get install wrk)")
    command = ["wrk", "-t2", f"-c{clients}", f"-d{max(1, round(seconds))}s"]
    if script is not None:
        command += ["-s", str(script)]
    command.append(url)
    if script is not None:  # the script's argument: this run's prefix for its keys
        command += ["--", str(random.randrange(10**9))]
    before = cpu_seconds(server)
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    after = cpu_seconds(server)
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
    return Load(
        float(rate.group(1)), failures, *(a - b for a, b in zip(after, before, strict=True))
    )


def cpu_seconds(server: int) -> tuple[float, float]:
    """CPU seconds used so far by the server process `server` with its workers, and by
    PostgreSQL's processes, from /proc (0, 0 where there is none). Exited processes are not
    counted: wrk's connections and the server's pool stay open for the whole run."""
    proc = Path("/proc")
    if not proc.is_dir():
        return 0.0, 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    served = postgres = 0.0
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used = (int(fields[11]) + int(fields[12])) / ticks
        if command.startswith(b"postgres"):
            postgres += used
        elif server in {int(entry.name), int(fields[1])}:  # the server, or a worker of it
            served += used
    return served, postgres


def measure(workers: int, clients: int, seconds: float) -> tuple[Load, Load]:
    """(/healthz, redemptions) with `workers` server processes on a fresh database."""
    url = recreate("tillpoint_bench")
    with tempfile.TemporaryDirectory() as data:
        env = {
            "DATABASE_URL": url,
            "TILLPOINT_DATA_DIR": data,
            "TILLPOINT_REDEMPTIONS_PER_MINUTE": "1000000",
            # Seed cards hold £90,000 each, all paid with one test card: past every money limit.
            "TILLPOINT_MAX_CARD_BALANCE_MINOR": str(10**12),
            "TILLPOINT_MAX_DAILY_LOAD_PER_PAYMENT_CARD_MINOR": str(10**12),
            "TILLPOINT_MAX_BUSINESS_CARD_LIABILITY_MINOR": str(10**12),
            "TILLPOINT_ARGON2_TIME_COST": "1",
            "TILLPOINT_ARGON2_MEMORY_KIB": "64",
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
            business, cashier, cards = seed(base)
            script = Path(data) / "redeem.lua"
            script.write_text(
                REDEEM_LUA
                % {
                    "cards": ",".join(f'"{card}"' for card in cards),
                    "business": business,
                    "auth": cashier["Authorization"],
                }
            )
            health = wrk(server.pid, f"{base}/healthz", clients, seconds)
            wrk(server.pid, base, clients, min(2.0, seconds), script)  # warm up
            return health, wrk(server.pid, base, clients, seconds, script)
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=30)


def pgbench_tps(clients: int, seconds: float) -> tuple[float, float]:
    """pgbench's TPC-B-like rate, and PostgreSQL's CPU seconds per transaction."""
    url = recreate("tillpoint_pgbench")
    subprocess.run(["pgbench", "-q", "-i", "-s", "10", url], check=True, capture_output=True)
    return run_pgbench(url, clients, seconds)


def redemptions_in_sql(clients: int, seconds: float) -> tuple[float, float]:
    """The upper bound: the redemption's statements as one PL/pgSQL call per redemption
    (bench/redemption_in_sql.sql), driven by pgbench on the database `measure` left behind."""
    url = ADMIN_URL.rsplit("/", 1)[0] + "/tillpoint_bench"
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute((ROOT / "bench" / "redemption_in_sql.sql").read_text())
        row = connection.execute("SELECT user_id FROM staff LIMIT 1").fetchone()
    if row is None:
        raise SystemExit("the benchmark database has no cashier")
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "redeem.pgbench"
        script.write_text(
            f"\\set n random(1, {CARDS})\n\\set k random(1, 1000000000000)\n"
            f"SELECT bench_redeem('{row[0]}', :client_id || '-' || :k, :n, 1);\n"
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
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=16, help="concurrent tills")
    args = parser.parse_args()
    print(
        f"Online redemptions over HTTP on PostgreSQL — {os.cpu_count()} CPUs, "
        f"{args.clients} concurrent tills, {args.seconds:.0f} s each, {CARDS} cards"
    )
    ceiling, postgres_cpu = pgbench_tps(args.clients, args.seconds)
    print(f"  pgbench TPC-B-like (scale 10)        {ceiling:>9,.0f} tx/s  (ceiling)")
    if postgres_cpu:
        print(f"    CPU per transaction: PostgreSQL {postgres_cpu * 1000:.1f} ms")
    for workers in (1, 2):
        health, load = measure(workers, args.clients, args.seconds)
        plural = "s" if workers > 1 else " "
        print(
            f"  /healthz, {workers} worker{plural} (floor)         {health.rate:>9,.0f} /s    "
            f"ratio {health.rate / ceiling:.2f}"
        )
        print(
            f"  redemptions, {workers} worker{plural}               {load.rate:>9,.0f} /s    "
            f"ratio {load.rate / ceiling:.2f} (goal >= 0.30)"
            + (f"  [{load.failures} failed]" if load.failures else "")
        )
        if load.rate and load.cpu_server:
            done = load.rate * args.seconds
            print(
                f"    CPU per redemption: server {load.cpu_server / done * 1000:.1f} ms, "
                f"PostgreSQL {load.cpu_postgres / done * 1000:.1f} ms "
                f"({os.cpu_count()} CPUs shared with wrk)"
            )
    rate, postgres_cpu = redemptions_in_sql(args.clients, args.seconds)
    print(
        f"  redemption as one SQL call (pgbench)  {rate:>9,.0f} /s    ratio {rate / ceiling:.2f} "
        "(no server at all: the upper bound)"
    )
    if postgres_cpu:
        print(f"    CPU per redemption: PostgreSQL {postgres_cpu * 1000:.1f} ms")


if __name__ == "__main__":
    main()
