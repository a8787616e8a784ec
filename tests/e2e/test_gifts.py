"""A gift end to end: bought over HTTP from the real server, its email received by a real SMTP
server on loopback (sent by the server's own notifications worker), claimed by the code read
from that email into another account, and seen claimed by its buyer."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from tests.e2e.conftest import free_port, migrated_server, open_cafe, signed_in
from tests.e2e.test_account_flows import html_of, mailbox, text_of  # noqa: F401 - a fixture
from tests.e2e.test_reminders import two_workers_at
from tests.server.mailbox import Sink

CODE = re.compile(r"\b([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})\b")
FRIEND = "sam@example.com"


@pytest.fixture
def server(database_url, tmp_path, mailbox) -> Iterator[str]:  # noqa: F811 - the fixture
    env = {
        "TILLPOINT_SMTP_HOST": "127.0.0.1",
        "TILLPOINT_SMTP_PORT": str(mailbox[1]),
        "TILLPOINT_NOTIFICATIONS_INTERVAL_SECONDS": "0.2",
        "TILLPOINT_APP_URL": "https://app.example/tillpoint",
    }
    with migrated_server(database_url, tmp_path / "data", env=env) as base:
        yield base


def eventually(read: Callable[[], Any], wanted: Any, timeout: float = 30) -> Any:
    """`read()` once it gives `wanted` (the worker runs on its own schedule)."""
    deadline = time.monotonic() + timeout
    while (got := read()) != wanted and time.monotonic() < deadline:
        time.sleep(0.2)
    return got


def test_a_gift_bought_emailed_and_claimed(server, mailbox):  # noqa: F811 - the fixture
    box = mailbox[0]
    api = f"{server}/api/v1"
    owner = signed_in(server, "vendor")
    business = httpx.post(
        f"{api}/businesses",
        headers=owner,
        json={"name": "Corner Café", "category": "cafe", "currency": "GBP"},
    ).json()
    buyer = signed_in(server, "customer")
    body = {
        "amount_minor": 2500,
        "payment": {"card_number": "4242424242424242"},
        "recipient_email": FRIEND,
        "recipient_name": "Sam",
        "message": "Happy birthday!",
        "from_name": "Alex",
    }
    bought = [
        httpx.post(
            f"{api}/businesses/{business['id']}/gifts",
            headers={**buyer, "Idempotency-Key": "gift-1"},
            json=body,
        )
        for _ in range(2)  # a retry buys nothing more
    ]
    assert [b.status_code for b in bought] == [201, 201], bought[0].text
    gift = bought[0].json()
    assert bought[1].json()["id"] == gift["id"]
    assert httpx.get(f"{api}/me/gift-cards", headers=buyer).json()["items"] == []

    email = box.wait_for(FRIEND, "Alex sent you a Corner Café gift card")
    text = text_of(email)
    assert "£25.00" in text
    assert "Happy birthday!" in text
    [code] = set(CODE.findall(text))  # in the link and on its own
    assert f"https://app.example/tillpoint/claim-gift?code={code}" in text
    assert code in html_of(email)

    def states() -> list[str]:
        page = httpx.get(f"{api}/me/gifts", headers=buyer).json()
        return [g["state"] for g in page["items"]]

    assert eventually(states, ["sent"]) == ["sent"]

    sam = signed_in(server, "customer", "sam.other@example.com")  # another address: the code
    claimed = httpx.post(f"{api}/gifts/claim", headers=sam, json={"code": code})
    assert claimed.status_code == 200, claimed.text
    [card] = httpx.get(f"{api}/me/gift-cards", headers=sam).json()["items"]
    assert card["id"] == gift["card_id"]
    assert card["balance"]["minor"] == 2500
    assert states() == ["claimed"]

    thief = signed_in(server, "customer")
    again = httpx.post(f"{api}/gifts/claim", headers=thief, json={"code": code})
    assert again.status_code == 400
    assert again.json()["type"].endswith("/gift-code-not-valid")

    def buyers_inbox() -> list[str]:
        items = httpx.get(f"{api}/me/inbox", headers=buyer).json()["items"]
        return sorted(i["kind"] for i in items)

    assert eventually(buyers_inbox, ["card_bought", "gift_claimed"]) == [
        "card_bought",
        "gift_claimed",
    ]
    assert box.to(FRIEND) == ["Alex sent you a Corner Café gift card"]  # once


@pytest.mark.postgres
def test_a_scheduled_gift_is_sent_once_at_its_time_by_two_workers(postgres_url, tmp_path):
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
            cafe = open_cafe(base, signed_in(base, "vendor"))
            at = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
            gift = httpx.post(
                f"{base}/api/v1/businesses/{cafe['business']['id']}/gifts",
                headers={**cafe["customer"], "Idempotency-Key": "gift-later"},
                json={
                    "amount_minor": 1500,
                    "payment": {"card_number": "4242424242424242"},
                    "recipient_email": FRIEND,
                    "recipient_name": "Sam",
                    "from_name": "Alex",
                    "deliver_at": at.astimezone(timezone(timedelta(hours=-5))).isoformat(),
                },
            )
            assert gift.status_code == 201, gift.text

        def gift_emails() -> list[str]:
            return [m["Subject"] for m in sink.to(FRIEND)]

        two_workers_at(at - timedelta(minutes=1), env)
        assert gift_emails() == []  # not yet
        two_workers_at(at, env)
        assert gift_emails() == ["Alex sent you a Café gift card"]
        two_workers_at(at + timedelta(days=1), env)
        assert gift_emails() == ["Alex sent you a Café gift card"]  # never twice
    finally:
        smtp.stop()
