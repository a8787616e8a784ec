"""End-to-end: the real `tillpoint` command starting the real server (uvicorn on 127.0.0.1)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from sync.client import DeviceAuth
from terminal.core.store import TerminalStore
from tests.server.conftest import (  # the same per-test databases and Redis key prefixes
    database_kind,
    database_url,
    postgres_url,
    redis_env,
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tillpoint(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """Start `tillpoint ARGS...` (a server); `running` waits for it and stops it.

    Its output goes to a temporary file, not a pipe: a server logging every request would
    block once a pipe nobody reads is full."""
    log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - closed by `running`
    process = subprocess.Popen(
        [sys.executable, "-m", "sync.cli", *args],
        env={**os.environ, **(env or {})},
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    process.log = log  # type: ignore[attr-defined]
    return process


def _output(process: subprocess.Popen[str]) -> str:
    log = process.log  # type: ignore[attr-defined]
    log.seek(0)
    return str(log.read())


def printed(process: subprocess.Popen[str]) -> str:
    """What a process started by `tillpoint` has printed so far (stdout and stderr)."""
    return _output(process)


def tillpoint_run(
    *args: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `tillpoint ARGS...` to the end (with `stdin` as its input); stdout and stderr
    together in `.stdout`."""
    return subprocess.run(
        [sys.executable, "-m", "sync.cli", *args],
        env={**os.environ, **(env or {})},
        input=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120,
        check=False,
    )


@contextmanager
def running(process: subprocess.Popen[str], port: int, timeout: float = 120) -> Iterator[str]:
    """Wait until the server answers /healthz, yield its base URL, then stop it with Ctrl+C."""
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    try:
        while True:
            if process.poll() is not None:
                raise AssertionError(f"server exited early:\n{_output(process)}")
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"no answer on /healthz in time:\n{_output(process)}")
            time.sleep(0.2)
        yield base
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        process.log.close()  # type: ignore[attr-defined]


PASSWORD = "correct horse battery"
FAST_HASHING = {"TILLPOINT_ARGON2_TIME_COST": "1", "TILLPOINT_ARGON2_MEMORY_KIB": "64"}
# The load tests buy many cards with one test card number: the money limits (tested in
# tests/server/test_money_limits.py) are out of their way.
ROOMY_LIMITS = {"TILLPOINT_MAX_DAILY_LOAD_PER_PAYMENT_CARD_MINOR": str(10**12)}


def signed_in(base: str, role: str, email: str | None = None) -> dict[str, str]:
    """Sign up (unless `role` is "staff", made by an owner) and sign in over HTTP; the
    auth header."""
    email = email or f"{role}-{uuid.uuid4().hex[:8]}@example.com"
    if role != "staff":
        created = httpx.post(
            f"{base}/api/v1/auth/signup", json={"email": email, "password": PASSWORD, "role": role}
        )
        assert created.status_code == 201, created.text
    token = httpx.post(
        f"{base}/api/v1/auth/login", json={"email": email, "password": PASSWORD}
    ).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


@contextmanager
def migrated_server(
    database_url: str, data_dir: Path, workers: int = 1, env: dict[str, str] | None = None
) -> Iterator[str]:
    """`tillpoint server migrate`, then `tillpoint server` on a free port; its base URL.
    Several workers share their state through the test Redis, under this test's prefix."""
    env = {
        "DATABASE_URL": database_url,
        "TILLPOINT_DATA_DIR": str(data_dir),
        **FAST_HASHING,
        **ROOMY_LIMITS,
        **(redis_env() if workers > 1 else {}),
        **(env or {}),
    }
    migrate = tillpoint_run("server", "migrate", env=env)
    assert migrate.returncode == 0, migrate.stdout
    port = free_port()
    with running(
        tillpoint("server", "--port", str(port), "--workers", str(workers), env=env), port
    ) as base:
        yield base


def paired_terminal(base, owner, business_id, path, name):
    """A terminal paired with `business_id` by `tillpoint terminal pair`, as a shop does it:
    its store at `path` and its credentials."""
    code = httpx.post(
        f"{base}/api/v1/businesses/{business_id}/pairing-codes", headers=owner
    ).json()["code"]
    result = tillpoint_run(
        "terminal", "pair", code, "--server", base, "--data", str(path), "--name", name
    )
    assert result.returncode == 0, result.stdout
    store = TerminalStore(path)
    pairing = store.pairing()
    assert pairing is not None
    return store, DeviceAuth(pairing.device_id, pairing.secret)


# Offline limits small enough for tests to reach each of them.
LIMITS = {
    "max_single_minor": 2000,
    "max_per_card_minor": 3000,
    "max_unsynced_minor": 5000,
    "max_cache_age_seconds": 86400,
    "stale_cache_max_minor": 0,
}


class StoppableServer:
    """The real server on a fixed port and SQLite file, so it can be stopped and started."""

    def __init__(self, tmp_path: Path) -> None:
        self.env = {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'server.db'}",
            "TILLPOINT_DATA_DIR": str(tmp_path / "server"),
            "TILLPOINT_BILLING_INTERVAL_SECONDS": "0",  # billing runs when the test says
            **FAST_HASHING,
        }
        assert tillpoint_run("server", "migrate", env=self.env).returncode == 0
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.context: Any = None

    def start(self) -> None:
        process = tillpoint("server", "--port", str(self.port), env=self.env)
        self.context = running(process, self.port)
        self.context.__enter__()

    def stop(self) -> None:
        if self.context is not None:
            self.context.__exit__(None, None, None)
            self.context = None


def new_business(base: str, owner: dict[str, str], name: str = "Café") -> dict[str, Any]:
    """A GBP café of `owner`'s, as the API answered."""
    answer = httpx.post(
        f"{base}/api/v1/businesses",
        headers=owner,
        json={"name": name, "category": "cafe", "currency": "GBP"},
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def new_deal(
    base: str,
    owner: dict[str, str],
    business_id: str,
    title: str = "Two coffees for one",
    ends_in: timedelta = timedelta(days=7),
) -> dict[str, Any]:
    """A £6.80-for-£3.40 deal of `business_id`'s, on since an hour ago and ending after
    `ends_in`, as the API answered."""
    now = datetime.now(UTC)
    answer = httpx.post(
        f"{base}/api/v1/businesses/{business_id}/deals",
        headers=owner,
        json={
            "title": title,
            "original_price_minor": 680,
            "deal_price_minor": 340,
            "starts_at": (now - timedelta(hours=1)).isoformat(),
            "ends_at": (now + ends_in).isoformat(),
        },
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def open_cafe(base: str, owner: dict[str, str]) -> dict[str, Any]:
    """A café of `owner`'s with LIMITS offline, a customer's £50 card and a voucher of a
    two-for-one deal: its business, customer, card, deal and voucher as the API answered."""
    business = new_business(base, owner)
    limits = httpx.put(
        f"{base}/api/v1/businesses/{business['id']}/offline-limits", headers=owner, json=LIMITS
    )
    assert limits.status_code == 200, limits.text
    customer = signed_in(base, "customer")
    card = httpx.post(
        f"{base}/api/v1/businesses/{business['id']}/gift-cards",
        headers={**customer, "Idempotency-Key": "buy-1"},
        json={"amount_minor": 5000, "payment": {"card_number": "4242424242424242"}},
    ).json()
    deal = new_deal(base, owner, business["id"])
    voucher = httpx.post(
        f"{base}/api/v1/deals/{deal['id']}/vouchers",
        headers={**customer, "Idempotency-Key": "buy-2"},
        json={"payment": {"card_number": "4242424242424242"}},
    ).json()
    return {
        "business": business,
        "customer": customer,
        "card": card,
        "deal": deal,
        "voucher": voucher,
    }


__all__ = [
    "FAST_HASHING",
    "LIMITS",
    "PASSWORD",
    "StoppableServer",
    "database_kind",
    "database_url",
    "free_port",
    "migrated_server",
    "new_business",
    "new_deal",
    "open_cafe",
    "paired_terminal",
    "postgres_url",
    "printed",
    "redis_env",
    "running",
    "signed_in",
    "tillpoint",
    "tillpoint_run",
]
