"""What the benchmark scripts share: a scratch PostgreSQL database, a free port, the real
server started as a child process, and the settings of the app run in process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent

ADMIN_URL = os.environ.get(
    "TILLPOINT_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
PASSWORD = "bench password 1"


def recreate(database: str) -> str:
    """Drop and create `database` on the benchmark server; its URL."""
    with psycopg.connect(ADMIN_URL, autocommit=True) as connection:
        connection.execute(
            f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'
        )  # a crashed run's server may hold it
        connection.execute(f'CREATE DATABASE "{database}"')
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + database


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tillpoint(*args: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start `tillpoint ARGS...` from the checkout, its output discarded."""
    return subprocess.Popen(
        [sys.executable, "-m", "sync.cli", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_healthy(base: str, attempts: int = 200) -> None:
    """Wait until the server at `base` answers /healthz (0.1 s between attempts)."""
    for _ in range(attempts):
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit("the server did not start")


def in_process_settings(data_dir: Path, **changes: Any) -> Any:
    """Settings for the app run in the benchmark's own process: cheap password hashing, no
    limit a load would reach, no background rounds (`changes` on top)."""
    from server.settings import Settings  # the scripts put the checkout on sys.path first

    return Settings(
        data_dir=data_dir,
        argon2_time_cost=1,
        argon2_memory_kib=64,
        redemptions_per_minute=100_000_000,
        max_card_balance_minor=10**12,
        max_daily_load_per_payment_card_minor=10**15,
        max_business_card_liability_minor=10**15,
        billing_interval_seconds=0,
        notifications_interval_seconds=0,
        webhooks_interval_seconds=0,
        **changes,
    )


@contextmanager
def scratch_engine(prefix: str) -> Iterator[Any]:
    """An engine on a new database of the benchmark server (named `prefix` and a random
    part) with every table, for the app run in process; dropped afterwards."""
    from server.db import Base, make_engine  # the scripts put the checkout on sys.path first

    database = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    engine = make_engine(ADMIN_URL.rsplit("/", 1)[0] + "/" + database)
    try:
        Base.metadata.create_all(engine)
        yield engine
    finally:
        engine.dispose()
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
