"""The server's database put back to an older copy (a restore from a backup), against the
real server in this process: a till whose pull cursor is past the restored log's head
finds out at its next sync and starts again from a fresh snapshot. It gets the card bought
after the restore, and forgets the one lost with the backup, so it approves that one
offline no more."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.events.models import EventCounter
from sync.wire import ChangesPage, SnapshotPage
from terminal.core.kinds import VoucherStatus
from terminal.core.session import TerminalSession
from terminal.core.store import TerminalStore
from tests.e2e.conftest import LIMITS, open_cafe, signed_in
from tests.terminal.live_server import LiveServer


def buy_card(base: str, business_id: str, customer: dict[str, str], amount: int) -> str:
    response = httpx.post(
        f"{base}/api/v1/businesses/{business_id}/gift-cards",
        headers={**customer, "Idempotency-Key": str(uuid.uuid4())},
        json={"amount_minor": amount, "payment": {"card_number": "4242424242424242"}},
    )
    assert response.status_code == 201, response.text
    card: dict[str, Any] = response.json()
    return str(card["id"])


def copy_database(source: Path, target: Path) -> None:
    """SQLite's online backup: a consistent copy, as a dump is."""
    with sqlite3.connect(source) as reading, sqlite3.connect(target) as writing:
        reading.backup(writing)
    reading.close()
    writing.close()


def head(server: LiveServer, business_id: str) -> int:
    with Session(server.engine) as session:
        position = session.scalar(
            select(EventCounter.position).where(EventCounter.business_id == business_id)
        )
    return int(position or 0)


@pytest.mark.parametrize("grown_past", [False, True], ids=["behind", "grown-past"])
def test_a_till_past_a_restored_servers_log_starts_again_from_what_is(tmp_path, grown_past):
    """Behind: the restored log's head is before the till's cursor. Grown past: the shop
    sold more after the restore than the backup lost, before this till synced, so its
    cursor is inside the log again; the mark of the change it last read tells."""
    server = LiveServer(tmp_path)
    server.start()
    till = TerminalSession(tmp_path / "till.db")
    try:
        owner = signed_in(server.base, "vendor")
        cafe = open_cafe(server.base, owner)
        business_id, customer = cafe["business"]["id"], cafe["customer"]
        code = httpx.post(
            f"{server.base}/api/v1/businesses/{business_id}/pairing-codes", headers=owner
        ).json()["code"]
        till.pair(server.base, code, "Till 1")
        assert till.sync() is not None
        copy_database(tmp_path / "server.db", tmp_path / "backup.db")  # the nightly backup

        lost = [buy_card(server.base, business_id, customer, 2000) for _ in range(2)]
        assert till.sync() is not None
        assert till.store.card(lost[0]) is not None
        cursor = till.store.cursor()
        assert cursor is not None
    finally:
        server.stop()

    copy_database(tmp_path / "backup.db", tmp_path / "server.db")  # the restore
    restored = LiveServer(tmp_path, port=server.port)
    restored.start()
    try:
        bought = buy_card(restored.base, business_id, customer, 4200)
        assert head(restored, business_id) < cursor  # the till is past the restored log
        while grown_past and head(restored, business_id) <= cursor:
            buy_card(restored.base, business_id, customer, 500)

        summary = till.sync()
        card = till.store.card(bought)
        assert card is not None
        assert card.balance_minor == 4200
        assert [till.store.card(card_id) for card_id in lost] == [None, None]
        assert till.store.card(cafe["card"]["id"]) is not None  # kept: it exists there
        assert till.store.cursor() == head(restored, business_id)
        assert summary is not None
        assert summary.started_over

        again = buy_card(restored.base, business_id, customer, 1500)
        summary = till.sync()  # from the fresh cursor: an ordinary pull
        assert summary is not None
        assert not summary.started_over
        assert till.store.card(again) is not None
    finally:
        till.close()
        restored.stop()


def state(cursor: int, cards: list[str], vouchers: dict[str, str]) -> dict[str, Any]:
    """A pulled page's fields: these cards (£10 each) and vouchers (by status)."""
    later = "2030-01-01T00:00:00Z"
    return {
        "cursor": cursor,
        "cards": [
            {"id": c, "currency": "GBP", "balance_minor": 1000, "status": "active",
             "expires_at": later, "version": 1}
            for c in cards
        ],
        "vouchers": [
            {"id": v, "deal_id": "deal1", "status": status, "face_minor": 340,
             "currency": "GBP", "expires_at": later, "version": 1}
            for v, status in vouchers.items()
        ],
        "deals": [], "products": [], "branches": [], "revoked_token_ids": [],
        "trust_list": {"keys": []}, "offline_limits": LIMITS,
    }  # fmt: skip


def test_a_fresh_snapshots_first_page_replaces_the_cache_and_the_cursor(tmp_path):
    """Cut short after its first page, the fresh snapshot is taken again whole by the next
    sync (no cursor), rather than resumed from a cursor the server's log no longer has."""
    store = TerminalStore(tmp_path / "till.db")
    used, unused = VoucherStatus.REDEEMED.value, VoucherStatus.ISSUED.value
    store.apply_changes(
        ChangesPage.model_validate(
            {**state(110, ["lost"], {"used1": used, "unused1": unused}), "more": False}
        )
    )
    first_page = SnapshotPage.model_validate({**state(108, ["kept"], {}), "next_after": "kept"})
    store.apply_changes(first_page, final=False, replace=True)
    assert store.cursor() is None
    assert (store.card("lost"), store.card("kept") is not None) == (None, True)
    assert store.voucher_used("used1")  # known used: still refused offline
    assert store.voucher_deal_id("unused1") is None
    store.close()
