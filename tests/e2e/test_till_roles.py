"""Roles at the till against the real server on 127.0.0.1: a new owner with no PINs yet signs
in with their account, gives the cashier a PIN; it reaches the till with a sync, the cashier
signs in, redeems online, and the server records who did."""

from __future__ import annotations

import sqlite3
import time

import httpx
import pytest
from textual.widgets import DataTable

from terminal.app import make_app
from terminal.app.screens.history import HistoryScreen
from terminal.app.screens.scan import ScanScreen, Step
from terminal.app.screens.signin import SignInScreen
from terminal.app.screens.vendor import VendorScreen
from terminal.core.session import TerminalSession
from tests.e2e.conftest import PASSWORD, StoppableServer, open_cafe, signed_in
from tests.e2e.test_terminal_app import until

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def server(tmp_path):
    server = StoppableServer(tmp_path)
    server.start()
    yield server
    server.stop()


async def test_owner_account_then_a_cashier_pin_then_a_redemption_the_server_names(
    server, tmp_path
):
    base = server.base
    owner_email = f"owner-{time.monotonic_ns()}@example.com"
    owner = signed_in(base, "vendor", owner_email)
    cafe = open_cafe(base, owner)
    business_id = cafe["business"]["id"]
    cashier = httpx.post(
        f"{base}/api/v1/businesses/{business_id}/staff",
        headers=owner,
        json={"email": f"sam-{time.monotonic_ns()}@example.com", "password": PASSWORD},
    ).json()
    code = httpx.post(f"{base}/api/v1/businesses/{business_id}/pairing-codes", headers=owner)
    data = tmp_path / "terminal.db"
    TerminalSession(data).pair(base, code.json()["code"], "Front till")
    app = make_app(data, sync_interval=3600, timeout=2.0)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.session.status().last_sync is not None, "first sync")
        # No PINs yet: the till works as itself, but the vendor screens stay shut.
        assert isinstance(app.screen, ScanScreen)
        await pilot.press("f3")
        assert isinstance(app.screen, ScanScreen)
        # The owner signs in with their account (F4 opens the sign-in screen).
        await pilot.press("f4")
        assert isinstance(app.screen, SignInScreen)
        await pilot.click("#account-email")
        await pilot.press(*owner_email, "enter", *PASSWORD, "enter")
        await until(pilot, lambda: app.session.signed_in is not None, "the owner signed in")
        assert app.session.signed_in.role == "owner"
        await pilot.press("f3")
        assert isinstance(app.screen, VendorScreen)

        # The owner gives the cashier a PIN; the next sync brings it to the till.
        answer = httpx.put(
            f"{base}/api/v1/businesses/{business_id}/till-staff/{cashier['id']}",
            headers=owner,
            json={"pin": "4821", "role": "cashier", "name": "Sam"},
        )
        assert answer.status_code == 200, answer.text
        await pilot.press("f5")
        await until(pilot, lambda: app.session.store.has_staff(), "the PIN to arrive")
        await pilot.press("f4")  # the owner signs out; the cashier signs in
        await until(pilot, lambda: isinstance(app.screen, SignInScreen), "the sign-in screen")
        await pilot.press(*"4821", "enter")
        await until(pilot, lambda: isinstance(app.screen, ScanScreen), "Sam signed in", 60)
        assert app.session.signed_in.name == "Sam"
        scan = app.screen
        scan.take_code(cafe["card"]["token"])
        await pilot.press(*"4.20", "enter")
        await until(pilot, lambda: scan.step is Step.RECEIPT, "the verdict")
        assert scan.verdict_text.startswith("✔ APPROVED (online)")
        await pilot.press("f2")
        assert isinstance(app.screen, HistoryScreen)
        assert app.screen.query_one(DataTable).get_row_at(0)[-1] == "Sam"
        await pilot.press("f3")  # a cashier: refused, stays put
        assert isinstance(app.screen, HistoryScreen)

    with sqlite3.connect(tmp_path / "server.db") as db:
        rows = db.execute("SELECT amount_minor, cashier_id FROM till_redemptions").fetchall()
    assert rows == [(420, cashier["id"])]
