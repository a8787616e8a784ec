"""Roles at the till against the real server on 127.0.0.1: a new owner with no PINs yet signs
in with their account and gives the cashier a PIN on the Staff screen; it reaches the till with
a sync, the cashier signs in, redeems online, and the server records who did."""

from __future__ import annotations

import sqlite3
import time

import httpx
import pytest
from textual.widgets import DataTable, Input

from terminal.app import make_app
from terminal.app.screens.history import HistoryScreen
from terminal.app.screens.scan import ScanScreen, Step
from terminal.app.screens.signin import SignInScreen
from terminal.app.screens.staff import StaffScreen
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
        owner_at_till = app.session.signed_in
        assert owner_at_till is not None
        assert owner_at_till.role == "owner"
        await pilot.press("f3")
        assert isinstance(app.screen, VendorScreen)

        # The owner gives the cashier a PIN on the Staff screen (F7); this till syncs it.
        await pilot.press("f7")
        staff = app.screen
        assert isinstance(staff, StaffScreen)
        table = staff.query_one(DataTable)
        await until(pilot, lambda: table.row_count == 2, "the owner and the cashier listed")
        assert [table.get_row_at(i)[3] for i in range(2)] == ["none", "none"]
        table.focus()
        await pilot.press("down", "enter")  # the cashier's row
        name = staff.query_one("#staff-name", Input)
        assert name.value == cashier["email"].partition("@")[0]
        name.value = "Sam"
        await pilot.press(*"1234", "enter")  # a run: refused on the till, nothing sent
        said = staff.query_one("#staff-message")
        await until(pilot, lambda: "a run (1234)" in str(said.render()), "the refusal")
        assert not app.session.store.has_staff()
        await pilot.press(*"4821", "enter")
        await until(pilot, lambda: app.session.store.has_staff(), "the PIN to reach the till")
        assert "Saved: Sam signs in as cashier" in str(said.render())
        assert table.get_row_at(1)[2:] == ["cashier", "set"]
        assert app.session.signed_in == owner_at_till  # a PIN arriving leaves the owner in
        await pilot.press("f4")  # the owner signs out; the cashier signs in
        await until(pilot, lambda: isinstance(app.screen, SignInScreen), "the sign-in screen")
        await pilot.press(*"4821", "enter")
        await until(pilot, lambda: isinstance(app.screen, ScanScreen), "Sam signed in", 60)
        sam = app.session.signed_in
        assert sam is not None
        assert sam.name == "Sam"
        scan = app.screen
        scan.take_code(cafe["card"]["token"])
        await pilot.press(*"4.20", "enter")
        await until(pilot, lambda: scan.step is Step.RECEIPT, "the verdict")
        assert scan.verdict_text.startswith("✔ APPROVED (online)")
        await pilot.press("f2")
        assert isinstance(app.screen, HistoryScreen)
        assert app.screen.query_one(DataTable).get_row_at(0)[-1] == "Sam"
        for key in ("f3", "f7"):  # a cashier: refused, stays put
            await pilot.press(key)
            assert isinstance(app.screen, HistoryScreen)

    with sqlite3.connect(tmp_path / "server.db") as db:
        rows = db.execute("SELECT amount_minor, cashier_id FROM till_redemptions").fetchall()
    assert rows == [(420, cashier["id"])]
