"""Online redemptions per second over HTTP against PostgreSQL, with 1 and 2 server workers,
next to pgbench's TPC-B-like transactions per second on the same server as the ceiling.

    .venv/bin/python bench/redemptions.py [--seconds 10] [--clients 16]

Needs a PostgreSQL it may create databases on (TILLPOINT_BENCH_POSTGRES_URL, default
postgresql://postgres@127.0.0.1:5432/postgres) and `pgbench` on the PATH. Goal (issue 2/5):
redemptions/s ≥ 0.3 × pgbench tps.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import PASSWORD, free_port, recreate  # noqa: E402

CARDS = 200


def tillpoint(*args: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "sync.cli", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_healthy(base: str) -> None:
    for _ in range(200):
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit("the server did not start")


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


def drive(
    base: str,
    business: str,
    cashier: dict[str, str],
    cards: list[str],
    clients: int,
    seconds: float,
) -> tuple[float, int]:
    """Redemptions/s over `seconds` from `clients` concurrent tills; (rate, errors)."""
    url = f"{base}/api/v1/businesses/{business}/redemptions"
    done, errors = [0] * clients, [0] * clients
    stop = time.monotonic() + seconds

    def till(n: int) -> None:
        rng = random.Random(n)
        with httpx.Client(headers=cashier, timeout=30) as client:
            while time.monotonic() < stop:
                response = client.post(
                    url,
                    headers={"Idempotency-Key": uuid.uuid4().hex},
                    json={"card_id": rng.choice(cards), "amount_minor": 1},
                )
                if response.status_code == 200:
                    done[n] += 1
                else:
                    errors[n] += 1

    threads = [threading.Thread(target=till, args=(n,)) for n in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.monotonic() - started), sum(errors)


def redemptions_per_second(workers: int, clients: int, seconds: float) -> tuple[float, int]:
    url = recreate("tillpoint_bench")
    with tempfile.TemporaryDirectory() as data:
        env = {
            "DATABASE_URL": url,
            "TILLPOINT_DATA_DIR": data,
            "TILLPOINT_REDEMPTIONS_PER_MINUTE": "1000000",
            "TILLPOINT_ARGON2_TIME_COST": "1",
            "TILLPOINT_ARGON2_MEMORY_KIB": "64",
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
            drive(base, business, cashier, cards, clients, min(2.0, seconds))  # warm up
            return drive(base, business, cashier, cards, clients, seconds)
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=30)


def pgbench_tps(clients: int, seconds: float) -> float:
    if not shutil.which("pgbench"):
        raise SystemExit("pgbench is not on the PATH (Debian: apt-get install postgresql-client)")
    url = recreate("tillpoint_pgbench")
    subprocess.run(["pgbench", "-q", "-i", "-s", "10", url], check=True, capture_output=True)
    result = subprocess.run(
        ["pgbench", "-n", "-c", str(clients), "-j", "2", "-T", str(int(seconds)), url],
        check=True,
        capture_output=True,
        text=True,
    )
    match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", result.stdout)
    if match is None:
        raise SystemExit(f"could not read pgbench's output:\n{result.stdout}")
    return float(match.group(1))


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
    ceiling = pgbench_tps(args.clients, args.seconds)
    print(f"  pgbench TPC-B-like (scale 10)        {ceiling:>9,.0f} tx/s  (ceiling)")
    for workers in (1, 2):
        rate, errors = redemptions_per_second(workers, args.clients, args.seconds)
        print(
            f"  redemptions, {workers} worker{'s' if workers > 1 else ' '}               "
            f"{rate:>9,.0f} /s    ratio {rate / ceiling:.2f} (goal ≥ 0.30)"
            + (f"  [{errors} non-200 answers]" if errors else "")
        )


if __name__ == "__main__":
    main()
