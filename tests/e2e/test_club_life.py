"""A club's life against the real server on 127.0.0.1: founded, joined, given to by payment
card and from a gift card (the ledger balanced after each movement), a gift card bought
with its fund and handed to a member, and that card's QR code — fetched by the member,
read by the till's decoder — redeemed at a paired till."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import cv2
import httpx
import numpy as np
import pytest

from hardware import QrDecoder
from server.db import make_engine, make_sessionmaker
from server.wallet.ledger import invariant_violations
from terminal.core.session import TerminalSession
from tests.e2e.conftest import migrated_server, signed_in

CARD = {"card_number": "4242424242424242"}
_keys = iter(range(1_000_000))


@pytest.fixture
def server(database_url, tmp_path) -> Iterator[str]:
    with migrated_server(database_url, tmp_path) as base:
        yield base


def call(base: str, method: str, path: str, who: dict[str, str], body: Any = None) -> Any:
    """A request as the app sends it (money POSTs with a fresh Idempotency-Key); the JSON."""
    headers = dict(who)
    if method == "POST":
        headers["Idempotency-Key"] = f"club-life-{next(_keys)}"
    answer = httpx.request(method, f"{base}/api/v1{path}", headers=headers, json=body)
    assert answer.status_code < 300, answer.text
    return answer.json() if answer.content else None


@pytest.fixture
def sessions(database_url):
    """The server's database, read directly: the ledger's invariant is checked there."""
    engine = make_engine(database_url)
    yield make_sessionmaker(engine)
    engine.dispose()


def test_a_clubs_life_to_a_member_spending_its_card_at_the_till(server, sessions, tmp_path):
    def balanced() -> None:
        with sessions() as session:
            assert invariant_violations(session) == [], "the ledger no longer balances"

    owner = signed_in(server, "vendor")
    business = call(
        server,
        "POST",
        "/businesses",
        owner,
        {"name": "Bookshop", "category": "books", "currency": "GBP"},
    )
    shop = f"/businesses/{business['id']}"
    call(server, "PUT", f"{shop}/club-donations", owner, {"allowed": True})

    ada, bea = signed_in(server, "customer"), signed_in(server, "customer")
    club = call(
        server,
        "POST",
        "/clubs",
        ada,
        {"name": "Old Street Readers", "display_name": "Ada", "home_business_id": business["id"]},
    )
    path = f"/clubs/{club['id']}"
    assert call(server, "POST", f"{path}/join", bea, {"display_name": "Bea"})["status"] == "active"

    call(server, "POST", f"{path}/donations", ada, {"amount_minor": 3000, "payment": CARD})
    balanced()
    beas_card = call(
        server, "POST", f"{shop}/gift-cards", bea, {"amount_minor": 1500, "payment": CARD}
    )
    given = call(
        server,
        "POST",
        f"{path}/donations/from-card",
        bea,
        {"card_id": beas_card["id"], "amount_minor": 1000, "anonymous": True},
    )
    assert given["gift_card_id"] == beas_card["id"]
    balanced()
    assert call(server, "GET", f"{path}/funds", bea)["balance"]["minor"] == 4000

    held = call(
        server,
        "POST",
        f"{path}/purchases/gift-cards",
        ada,
        {"business_id": business["id"], "amount_minor": 2500},
    )
    balanced()
    [beas_entry] = [
        m for m in call(server, "GET", f"{path}/roster", ada)["items"] if m["display_name"] == "Bea"
    ]
    call(
        server,
        "POST",
        f"{path}/holdings/{held['id']}/hand-over",
        ada,
        {"member_id": beas_entry["user_id"]},
    )
    balanced()
    assert call(server, "GET", f"{path}/funds", ada)["balance"]["minor"] == 1500
    lines = call(server, "GET", f"{path}/history", bea)["items"]
    assert [(line["kind"], line["amount"]["minor"], line["by"]) for line in lines] == [
        ("handed_over", 0, "Ada"),
        ("purchase", -2500, "Ada"),
        ("donation", 1000, "Anonymous"),
        ("donation", 3000, "Ada"),
    ]

    # Bea shows the card's code from her phone; the till reads it and redeems online.
    png = httpx.get(f"{server}/api/v1/gift-cards/{held['item_id']}/qr.png", headers=bea)
    assert png.status_code == 200
    decoded = cv2.imdecode(np.frombuffer(png.content, dtype=np.uint8), cv2.IMREAD_COLOR)
    assert decoded is not None
    pixels = np.asarray(decoded, dtype=np.uint8)
    # zxing-cpp alone: a wheel, where libzbar is a system library a machine may lack.
    [token] = QrDecoder(use_zbar=False).decode(pixels).codes
    code = call(server, "POST", f"{shop}/pairing-codes", owner)["code"]
    till = TerminalSession(tmp_path / "till.db")
    try:
        till.pair(server, code, "Front till")
        verdict = till.redeem(token, 1200)
    finally:
        till.close()
    assert verdict.balance_after is not None
    assert (verdict.approved, verdict.mode.value, verdict.balance_after.minor) == (
        True,
        "online",
        1300,
    )
    assert call(server, "GET", f"/gift-cards/{held['item_id']}", bea)["balance"]["minor"] == 1300
    balanced()
