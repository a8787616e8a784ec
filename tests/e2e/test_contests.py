"""A contest from start to announced result against the real server: a café runs it, a
customer enters and spends, `tillpoint server run-jobs` finishes it once (twice run, once
done), the worker emails the winner through a real SMTP server on loopback, and the prize
card is in the winner's wallet and spends at the till."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from aiosmtpd.controller import Controller

from tests.e2e.conftest import free_port, migrated_server, open_cafe, signed_in, tillpoint_run
from tests.server.mailbox import Sink

pytestmark = pytest.mark.postgres


def test_a_contest_from_start_to_announced_result_with_its_prize_card(postgres_url, tmp_path):
    sink = Sink()
    smtp = Controller(sink, hostname="127.0.0.1", port=free_port())
    smtp.start()
    env = {
        "DATABASE_URL": postgres_url,
        "TILLPOINT_DATA_DIR": str(tmp_path / "data"),
        "TILLPOINT_SMTP_HOST": "127.0.0.1",
        "TILLPOINT_SMTP_PORT": str(smtp.port),
        "TILLPOINT_NOTIFICATIONS_INTERVAL_SECONDS": "0",  # only the worker runs below
    }

    def worker_round() -> None:
        done = tillpoint_run("server", "worker", "--once", env=env)
        assert done.returncode == 0, done.stdout

    try:
        with migrated_server(postgres_url, tmp_path / "data", env=env) as base:
            owner = signed_in(base, "vendor")
            cafe = open_cafe(base, owner)
            shop = f"{base}/api/v1/businesses/{cafe['business']['id']}"
            customer = cafe["customer"]
            me = httpx.get(f"{base}/api/v1/me", headers=customer).json()
            # The winner's email goes to a confirmed address: confirm it with the emailed code.
            worker_round()
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

            now = datetime.now(UTC)
            ends = now + timedelta(hours=1)
            made = httpx.post(
                f"{shop}/contests",
                headers=owner,
                json={
                    "title": "Coffee marathon",
                    "starts_at": (now - timedelta(minutes=5)).isoformat(),
                    "ends_at": ends.isoformat(),
                    "entrants": "customers",
                    "measure": "redeemed",
                    "prizes_minor": [1500],
                },
            )
            assert made.status_code == 201, made.text
            contest = f"{base}/api/v1/contests/{made.json()['id']}"
            entered = httpx.post(
                f"{contest}/entries", headers=customer, json={"display_name": "Ada"}
            )
            assert entered.status_code == 200, entered.text
            spent = httpx.post(
                f"{shop}/redemptions",
                headers={**owner, "Idempotency-Key": str(uuid.uuid4())},
                json={"card_id": cafe["card"]["id"], "amount_minor": 1200},
            )
            assert spent.status_code == 200, spent.text
            live = httpx.get(f"{contest}/leaderboard").json()
            assert [(s["name"], s["score"]) for s in live["items"]] == [("Ada", 1200)]
            assert live["status"] == "open"

            at = (ends + timedelta(minutes=1)).isoformat()
            first = tillpoint_run("server", "run-jobs", "--at", at, env=env)
            assert first.returncode == 0, first.stdout
            assert "1 contests finished" in first.stdout
            again = tillpoint_run("server", "run-jobs", "--at", at, env=env)
            assert "0 contests finished" in again.stdout, again.stdout
            worker_round()

            [won] = [m for m in sink.to(me["email"]) if "Coffee marathon" in m["Subject"]]
            assert won["Subject"] == "You won 1st place in Coffee marathon"
            body = won.get_body(("plain",))
            assert body is not None
            assert "Café gift card holding £15.00" in body.get_content()
            final = httpx.get(f"{contest}/leaderboard").json()
            assert final["status"] == "finished"
            assert final["items"][0]["prize"]["minor"] == 1500
            page = httpx.get(f"{contest}/entries/{entered.json()['id']}", headers=customer).json()
            assert page["card_id"] in body.get_content()
            wallet = httpx.get(f"{base}/api/v1/me/gift-cards", headers=customer).json()["items"]
            [prize] = [c for c in wallet if c["id"] == page["card_id"]]
            assert prize["balance"]["minor"] == 1500
            used = httpx.post(
                f"{shop}/redemptions",
                headers={**owner, "Idempotency-Key": str(uuid.uuid4())},
                json={"card_id": prize["id"], "amount_minor": 1500},
            )
            assert used.status_code == 200, used.text
    finally:
        smtp.stop()
