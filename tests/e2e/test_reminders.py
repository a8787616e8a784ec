"""An expiry reminder against the real server and two real worker processes: sent once, on
its day (the workers' clock set with `--now` on a sandbox), never twice — to a real SMTP
server on loopback."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import datetime, timedelta

import httpx
import pytest
from aiosmtpd.controller import Controller

from tests.e2e.conftest import free_port, migrated_server, open_cafe, signed_in, tillpoint_run
from tests.server.mailbox import Sink

pytestmark = pytest.mark.postgres


def two_workers_at(now: datetime, env: dict[str, str]) -> list[str]:
    """`tillpoint server worker --once --now NOW` twice at the same moment; their outputs."""
    command = [sys.executable, "-m", "sync.cli", "server", "worker", "--once", "--now"]
    workers = [
        subprocess.Popen(
            [*command, now.isoformat()],
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [w.communicate(timeout=120)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    return outputs


def test_an_expiry_reminder_is_sent_once_on_its_day_by_two_workers(postgres_url, tmp_path):
    sink = Sink()
    smtp = Controller(sink, hostname="127.0.0.1", port=free_port())
    smtp.start()
    env = {
        "DATABASE_URL": postgres_url,
        "TILLPOINT_DATA_DIR": str(tmp_path / "data"),
        "TILLPOINT_SMTP_HOST": "127.0.0.1",
        "TILLPOINT_SMTP_PORT": str(smtp.port),
        "TILLPOINT_NOTIFICATIONS_INTERVAL_SECONDS": "0",  # only the two workers below
        "TILLPOINT_SANDBOX": "true",
    }
    try:
        with migrated_server(postgres_url, tmp_path / "data", env=env) as base:
            owner = signed_in(base, "vendor")
            cafe = open_cafe(base, owner)
            me = httpx.get(f"{base}/api/v1/me", headers=cafe["customer"]).json()
            # Reminders go by email to a confirmed address: confirm it with the emailed code.
            two_workers_at(
                datetime.fromisoformat(cafe["card"]["expires_at"]) - timedelta(days=300), env
            )
            [confirm] = [
                m
                for m in sink.messages
                if m["To"] == me["email"] and m["Subject"] == "Confirm your email for Tillpoint"
            ]
            text = confirm.get_body(("plain",))
            assert text is not None
            code = re.search(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", text.get_content())
            assert code is not None
            verified = httpx.post(f"{base}/api/v1/auth/verify-email", json={"code": code[0]})
            assert verified.status_code == 200, verified.text
        expires = datetime.fromisoformat(cafe["card"]["expires_at"])

        def reminders() -> list[str]:
            return [m["Subject"] for m in sink.to(me["email"]) if "expires" in m["Subject"]]

        two_workers_at(expires - timedelta(days=31), env)
        assert reminders() == []  # a day early: nothing
        outputs = two_workers_at(expires - timedelta(days=30, hours=-2), env)
        assert reminders() == ["Your Café gift card expires in 30 days"], outputs
        two_workers_at(expires - timedelta(days=29), env)  # the next day: not again
        assert len(reminders()) == 1
        two_workers_at(expires - timedelta(days=6, hours=23), env)
        assert reminders() == [
            "Your Café gift card expires in 30 days",
            "Your Café gift card expires in 7 days",
        ]
    finally:
        smtp.stop()


def test_the_clock_is_set_only_on_a_sandbox(postgres_url, tmp_path):
    env = {"DATABASE_URL": postgres_url, "TILLPOINT_DATA_DIR": str(tmp_path)}
    refused = tillpoint_run("server", "worker", "--once", "--now", "2027-01-31T09:00Z", env=env)
    assert refused.returncode != 0
    assert "TILLPOINT_SANDBOX=true" in refused.stdout
    wrong = tillpoint_run("server", "worker", "--once", "--now", "next tuesday", env=env)
    assert wrong.returncode != 0
    assert "2027-01-31T09:00Z" in wrong.stdout  # says how to write it


def test_the_worker_touches_its_heartbeat_after_each_round(tmp_path):
    import time

    from tests.e2e.conftest import tillpoint

    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    env = {"DATABASE_URL": url, "TILLPOINT_DATA_DIR": str(tmp_path)}
    assert tillpoint_run("server", "migrate", env=env).returncode == 0
    beat = tmp_path / "heartbeat"
    worker = tillpoint("server", "worker", "--interval", "0.2", "--heartbeat", str(beat), env=env)
    try:
        deadline = time.monotonic() + 30
        while not beat.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert beat.exists(), "no round finished"
        first = beat.stat().st_mtime_ns
        while beat.stat().st_mtime_ns == first and time.monotonic() < deadline:
            time.sleep(0.1)
        assert beat.stat().st_mtime_ns > first  # and again, round after round
    finally:
        worker.terminate()
        worker.wait(timeout=15)
        worker.log.close()  # type: ignore[attr-defined]
