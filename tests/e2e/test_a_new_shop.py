"""Issue 14's Done-when as a shop runs it, against the real server on 127.0.0.1, at 80×24:
a new owner signs up and lists a café (the API stands in for the owner's and the customer's
apps); the owner pairs the first till with their account, gives the cashier a PIN there and
makes a pairing code for a second till on the Tills tab; the second till pairs with it, the
cashier signs in with the PIN, redeems a gift card and a voucher, and prints a receipt for
each. Nothing at either till needs a REST path."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

import httpx
import pytest
from textual.widgets import DataTable, Input, TabbedContent

from hardware import TextPrinter
from terminal.app import make_app
from terminal.app.screens.owner import OwnerPane
from terminal.app.screens.pairing import PairingScreen
from terminal.app.screens.scan import ScanScreen, Step
from terminal.app.screens.signin import SignInScreen
from terminal.app.screens.staff import StaffScreen
from terminal.app.screens.tills import TillsPane
from terminal.core.session import PairingFailedError, TerminalSession
from tests.e2e.conftest import PASSWORD, StoppableServer, open_cafe, signed_in
from tests.e2e.test_pairing_from_the_till import owner_at_the_till, text_of
from tests.e2e.test_terminal_app import until, usb_scan

pytestmark = pytest.mark.anyio

SIZE = (80, 24)


@pytest.fixture
def anyio_backend():
    return "asyncio"  # Textual runs on asyncio


@pytest.fixture
def server(tmp_path):
    server = StoppableServer(tmp_path)
    server.start()
    yield server
    server.stop()


def a_new_cafe(base: str) -> dict[str, Any]:
    """A new owner signs up and lists a café with one branch and a deal; a cashier's account
    is made for it; a customer buys a £50 card and a voucher of the deal."""
    owner_email = f"owner-{time.monotonic_ns()}@example.com"
    owner = signed_in(base, "vendor", owner_email)
    cafe = open_cafe(base, owner)
    business_id = cafe["business"]["id"]
    branch = httpx.post(
        f"{base}/api/v1/businesses/{business_id}/branches",
        headers=owner,
        json={"name": "High Street", "address": "1 High Street", "latitude": 51.5, "longitude": 0},
    )
    assert branch.status_code == 201, branch.text
    cashier = httpx.post(
        f"{base}/api/v1/businesses/{business_id}/staff",
        headers=owner,
        json={"email": f"sam-{time.monotonic_ns()}@example.com", "password": PASSWORD},
    )
    assert cashier.status_code == 201, cashier.text
    return {**cafe, "owner_email": owner_email, "cashier": cashier.json()}


async def test_a_new_owner_pairs_two_tills_and_a_cashier_redeems_and_prints(server, tmp_path):
    cafe = a_new_cafe(server.base)

    # The first till: nothing paired yet, so the owner pairs it with the account.
    first = make_app(tmp_path / "first.db", server_url=server.base, sync_interval=3600, timeout=10)
    async with first.run_test(size=SIZE) as pilot:
        assert isinstance(first.screen, PairingScreen)
        assert first.screen.query_one("#pair-password").region.bottom <= SIZE[1]
        first.screen.query_one("#name", Input).value = "Till 1"
        await pilot.click("#pair-email")
        await pilot.press(*cafe["owner_email"], "enter", *"not the password", "enter")
        said = first.screen.query_one("#prompt")
        await until(pilot, lambda: text_of(said).startswith("Not paired:"), "the refusal")
        assert first.session.store.pairing() is None
        await pilot.click("#pair-password")
        await pilot.press(*PASSWORD, "enter")
        await until(pilot, lambda: isinstance(first.screen, ScanScreen), "pairing")
        await until(pilot, lambda: first.session.status().last_sync is not None, "first sync")
        assert first.session.shop().branch == "High Street"  # its only branch

        # The owner signs in at the till and gives the cashier a PIN (F7).
        await owner_at_the_till(pilot, first, cafe["owner_email"])
        await pilot.press("f7")
        staff = first.screen
        assert isinstance(staff, StaffScreen)
        table = staff.query_one(DataTable)
        await until(pilot, lambda: table.row_count == 2, "the owner and the cashier listed")
        table.focus()
        table.move_cursor(row=table.get_row_index(cafe["cashier"]["id"]))
        await pilot.press("enter")
        staff.query_one("#staff-name", Input).value = "Sam"
        await pilot.press(*"4821", "enter")
        await until(pilot, lambda: first.session.store.has_staff(), "the PIN to reach the till")

        # F3, the Owner tab: already signed in (the account, at this till); F6 to the Tills
        # tab, N (from the list of tills) then Y makes the code for the second till.
        await pilot.press("f3")
        tabs = first.screen.query_one(TabbedContent)
        tabs.active = "owner-tab"
        owner = first.screen.query_one(OwnerPane)
        await until(
            pilot,
            lambda: "1 terminal," in text_of(owner.query_one("#owner-message")),
            "the Owner tab without a second sign-in",
        )
        await pilot.press("f6")
        assert tabs.active == "tills-tab"
        tills = first.screen.query_one(TillsPane)
        await until(
            pilot,
            lambda: tills.query_one("#till-table", DataTable).row_count == 1,
            "the list of tills",
        )
        tills.query_one("#till-table", DataTable).focus()  # N, from the list, asks first
        await pilot.press("n", "y")
        shown = tills.query_one("#pair-code")
        await until(pilot, lambda: text_of(shown).startswith("Code "), "the pairing code")
        code = text_of(shown).split()[1]

    # The second till: the code typed; the cashier signs in with the PIN.
    receipts = tmp_path / "receipts.txt"
    second = make_app(
        tmp_path / "second.db",
        server_url=server.base,
        printer=TextPrinter(receipts),
        sync_interval=3600,
        timeout=10,
    )
    async with second.run_test(size=SIZE) as pilot:
        assert isinstance(second.screen, PairingScreen)
        second.screen.query_one("#name", Input).value = "Till 2"
        await pilot.click("#code")
        await pilot.press(*code, "enter")
        await until(pilot, lambda: isinstance(second.screen, SignInScreen), "who is at it")
        await pilot.press(*"4821", "enter")
        await until(pilot, lambda: isinstance(second.screen, ScanScreen), "Sam signed in", 60)
        scan = second.screen
        assert isinstance(scan, ScanScreen)

        # A gift card: £4.20 of £50, approved online; Enter prints the receipt.
        await usb_scan(pilot, cafe["card"]["token"])
        await pilot.press(*"4.20", "enter")
        await until(pilot, lambda: scan.step is Step.RECEIPT, "the card's verdict")
        assert scan.verdict_text.startswith("✔ APPROVED (online)")
        await pilot.press("enter")
        await until(pilot, lambda: scan.step is Step.IDLE, "the receipt printed")

        # The voucher: it names what to hand over; Enter takes it, Enter prints.
        await usb_scan(pilot, cafe["voucher"]["token"])
        await until(pilot, lambda: scan.step is Step.CONFIRM, "the voucher")
        assert "Hand over: Two coffees for one" in text_of(scan.query_one("#presented"))
        await pilot.press("enter")
        await until(pilot, lambda: scan.step is Step.RECEIPT, "the voucher's verdict")
        assert scan.verdict_text.startswith("✔ APPROVED (online)")
        await pilot.press("enter")
        await until(pilot, lambda: scan.step is Step.IDLE, "the receipt printed")

    card_receipt, voucher_receipt = receipts.read_text().strip().split("\n\n")
    with sqlite3.connect(tmp_path / "server.db") as db:
        made = db.execute(
            "SELECT item, amount_minor, operation_id, cashier_id FROM till_redemptions ORDER BY id"
        ).fetchall()
    assert [row[:2] for row in made] == [("gift_card", 420), ("voucher", 340)]
    assert {row[3] for row in made} == {cafe["cashier"]["id"]}  # the server names Sam
    # The reference: the card redemption's operation on the server; a voucher's own id (it
    # is redeemed once, so it names its redemption).
    references = (made[0][2], cafe["voucher"]["id"])
    for receipt, reference in zip((card_receipt, voucher_receipt), references, strict=True):
        for words in ("Café", "High Street", "Till 2", "Sam", "Approved online", reference):
            assert words in receipt, f"{words!r} not on:\n{receipt}"
    for words in ("Redeemed", "£4.20", "Balance left", "£45.80"):
        assert words in card_receipt
    for words in ("Hand over", "Two coffees for one", "£3.40"):
        assert words in voucher_receipt
    balance = httpx.get(
        f"{server.base}/api/v1/gift-cards/{cafe['card']['id']}", headers=cafe["customer"]
    ).json()["balance"]["minor"]
    assert balance == 5000 - 420


def test_the_owners_account_pairs_only_the_one_business_it_owns(server, tmp_path):
    """Pairing with an account: one that owns no business, or several, is told why and
    leaves the till unpaired (it could not tell which business the till is for)."""
    base = server.base
    email = f"new-{time.monotonic_ns()}@example.com"
    owner = signed_in(base, "vendor", email)
    session = TerminalSession(tmp_path / "till.db")
    with pytest.raises(PairingFailedError, match="owns no business: list yours first"):
        session.pair_with_account(base, email, PASSWORD, "Till 1")
    for name in ("Café", "Bakery"):
        listed = httpx.post(
            f"{base}/api/v1/businesses",
            headers=owner,
            json={"name": name, "category": "cafe", "currency": "GBP"},
        )
        assert listed.status_code == 201, listed.text
    with pytest.raises(PairingFailedError, match="owns 2 businesses: make a pairing code"):
        session.pair_with_account(base, email, PASSWORD, "Till 1")
    with pytest.raises(PairingFailedError, match="has no scheme: add http"):
        session.pair_with_account(base.removeprefix("http://"), email, PASSWORD, "Till 1")
    assert session.store.pairing() is None
    session.close()
