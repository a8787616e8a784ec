"""Webhooks against the real server: a vendor registers a receiver on loopback, a customer
buys a card, and the server's own worker delivers the event signed as Standard Webhooks
says (the receiver verifies it with the standardwebhooks package), retrying after the
receiver fails the first attempt. The retry schedule is set short so nothing waits long.

On SQLite the server's own worker sends (the embedded default); on PostgreSQL, as in
production, the server's is off and `tillpoint server worker` runs beside it."""

from __future__ import annotations

import signal
import subprocess
import time
import uuid
from contextlib import ExitStack

import httpx

from tests.e2e.conftest import FAST_HASHING, migrated_server, signed_in, tillpoint
from tests.server.receiver import Received, Receiver, receiving

FAST_WEBHOOKS = {
    "TILLPOINT_WEBHOOKS_ALLOW_PRIVATE_URLS": "true",  # the receiver is on loopback
    "TILLPOINT_WEBHOOKS_INTERVAL_SECONDS": "0.2",
    "TILLPOINT_WEBHOOKS_RETRY_SCHEDULE_SECONDS": "[0.5, 60]",
}
WAIT = 30  # seconds before the test gives up on a delivery


def _received(receiver: Receiver, count: int) -> list[Received]:
    deadline = time.monotonic() + WAIT
    while len(receiver.received) < count:
        assert time.monotonic() < deadline, f"{len(receiver.received)} of {count} requests came"
        time.sleep(0.1)
    return list(receiver.received)


def _stop(process: subprocess.Popen[str]) -> int | None:
    """Stop the worker as an orchestrator does (SIGTERM); its exit code, None if it had
    to be killed."""
    if process.poll() is not None:
        return process.returncode
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return None


def test_a_receiver_verifies_the_signatures_and_gets_a_retry_after_failing(database_url, tmp_path):
    own_process = database_url.startswith("postgresql")
    server_env = {**FAST_WEBHOOKS, "TILLPOINT_WEBHOOKS_INTERVAL_SECONDS": "0"}
    with ExitStack() as stack:
        receiver = stack.enter_context(receiving())
        base = stack.enter_context(
            migrated_server(
                database_url, tmp_path / "server", env=server_env if own_process else FAST_WEBHOOKS
            )
        )
        worker = None
        if own_process:
            worker_env = {
                **FAST_WEBHOOKS,
                **FAST_HASHING,
                "DATABASE_URL": database_url,
                "TILLPOINT_DATA_DIR": str(tmp_path / "server"),
            }
            worker = tillpoint("server", "worker", "--interval", "0.2", env=worker_env)
            stack.callback(worker.log.close)  # type: ignore[attr-defined]
            stack.callback(_stop, worker)
        owner = signed_in(base, "vendor")
        business = httpx.post(
            f"{base}/api/v1/businesses",
            headers=owner,
            json={"name": "Corner Bakery", "category": "bakery", "currency": "GBP"},
        ).json()
        endpoints = f"{base}/api/v1/businesses/{business['id']}/webhook-endpoints"
        created = httpx.post(
            endpoints,
            headers=owner,
            json={"url": receiver.url, "event_types": ["card.created"], "description": "CRM"},
        )
        assert created.status_code == 201, created.text
        endpoint = created.json()
        receiver.answer(503, "busy, try later")

        customer = signed_in(base, "customer")
        card = httpx.post(
            f"{base}/api/v1/businesses/{business['id']}/gift-cards",
            headers={**customer, "Idempotency-Key": uuid.uuid4().hex},
            json={"amount_minor": 2000, "payment": {"card_number": "4242424242424242"}},
        ).json()

        failed, retried = _received(receiver, 2)
        for received in (failed, retried):
            assert received.verified_by(endpoint["secret"])
            assert received.json()["type"] == "card.created"
            assert received.json()["data"]["id"] == card["id"]
        assert failed.headers["webhook-id"] == retried.headers["webhook-id"]

        deliveries = httpx.get(f"{endpoints}/{endpoint['id']}/deliveries", headers=owner)
        [delivery] = deliveries.json()["items"]
        assert delivery["status"] == "sent"
        detail = httpx.get(
            f"{endpoints}/{endpoint['id']}/deliveries/{delivery['id']}", headers=owner
        ).json()
        assert [(a["outcome"], a["status_code"]) for a in detail["attempt_log"]] == [
            ("failed", 503),
            ("succeeded", 200),
        ]
        assert detail["attempt_log"][0]["response_body"] == "busy, try later"
        if worker is not None:
            assert _stop(worker) == 0
