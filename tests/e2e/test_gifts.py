"""A gift end to end: bought over HTTP from the real server, its email received by a real SMTP
server on loopback (sent by the server's own notifications worker), claimed by the code read
from that email into another account, and seen claimed by its buyer."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import migrated_server, signed_in
from tests.e2e.test_account_flows import html_of, mailbox, text_of  # noqa: F401 - a fixture

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
    assert httpx.get(f"{api}/me/gift-cards", headers=buyer).json() == []

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
    [card] = httpx.get(f"{api}/me/gift-cards", headers=sam).json()
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
