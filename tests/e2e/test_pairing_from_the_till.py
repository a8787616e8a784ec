"""A new owner pairs a second till from the first, at 80×24, against the real server: the
owner signs in on the first till, makes a pairing code for a branch (shown as text and as a
QR code a camera reads), the second till pairs by typing it and redeems a card, its receipt
names the branch and prints again from history; the first till lists both tills and revokes
the second after asking. Then a branch edit made on one till reaches the server and the
other till. The test calls the API only to set up the café."""

from __future__ import annotations

import time

import httpx
import pytest
from escpos.printer import Dummy
from textual.widgets import DataTable, Input, Select, TabbedContent

from hardware import EscposPrinter, QrDecoder
from terminal.app import make_app
from terminal.app.screens.owner import OwnerPane
from terminal.app.screens.pairing import PairingScreen
from terminal.app.screens.scan import ScanScreen, Step
from terminal.app.screens.signin import SignInScreen
from terminal.app.screens.tills import ConfirmRevokeScreen, TillsPane
from terminal.core.qr_text import half_blocks
from terminal.core.session import TerminalSession
from tests.e2e.conftest import PASSWORD, StoppableServer, open_cafe, signed_in
from tests.e2e.test_terminal_app import CounterCamera, until, usb_scan
from tests.terminal.qr_pixels import pixels

pytestmark = pytest.mark.anyio

SIZE = (80, 24)


@pytest.fixture
def anyio_backend():
    return "asyncio"  # Textual runs on asyncio


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = StoppableServer(tmp_path_factory.mktemp("server"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def cafe(server):
    """The café (two branches, a customer's £50 card) and its first till, paired the way
    the demo and `tillpoint terminal pair` do it."""
    base = server.base
    owner_email = f"owner-{time.monotonic_ns()}@example.com"
    owner = signed_in(base, "vendor", owner_email)
    cafe = open_cafe(base, owner)
    business_id = cafe["business"]["id"]
    branches = {}
    for name, address in (("High Street", "1 High Street"), ("Station Road", "9 Station Road")):
        branches[name] = httpx.post(
            f"{base}/api/v1/businesses/{business_id}/branches",
            headers=owner,
            json={"name": name, "address": address, "latitude": 51.5, "longitude": -0.1},
        ).json()["id"]
    code = httpx.post(
        f"{base}/api/v1/businesses/{business_id}/pairing-codes",
        headers=owner,
        json={"branch_id": branches["High Street"]},
    ).json()["code"]
    return {
        "business_id": business_id,
        "owner_email": owner_email,
        "owner": owner,
        "card": cafe["card"],
        "customer": cafe["customer"],
        "branches": branches,
        "first_code": code,
    }


def text_of(widget) -> str:
    return str(widget.render())


async def owner_at_the_till(pilot, app, email: str):
    """The owner signs in at the till with the account (F4): the vendor screens open."""
    await pilot.press("f4")
    assert isinstance(app.screen, SignInScreen)
    await pilot.click("#account-email")
    await pilot.press(*email, "enter", *PASSWORD, "enter")
    await until(pilot, lambda: app.session.signed_in is not None, "the owner signed in")


async def sign_in_and_open_tills(pilot, app, email: str):
    """The owner at the till with the account, F3, the Owner tab (signed in already: the
    account at the till), then the Tills tab (F6 from the Owner tab)."""
    await owner_at_the_till(pilot, app, email)
    await pilot.press("f3")
    tabs = app.screen.query_one(TabbedContent)
    tabs.active = "owner-tab"
    owner = app.screen.query_one(OwnerPane)
    said = owner.query_one("#owner-message")
    await until(pilot, lambda: text_of(said).startswith("Signed in."), f"the tab: {text_of(said)}")
    assert not owner.query_one("#owner-sign-in").display  # not asked again
    await pilot.press("f6")  # Owner → Tills
    assert tabs.active == "tills-tab"
    return app.screen.query_one(TillsPane)


async def test_the_owner_pairs_a_second_till_from_the_first(server, cafe, tmp_path):
    first_data, second_data = tmp_path / "first.db", tmp_path / "second.db"
    TerminalSession(first_data).pair(server.base, cafe["first_code"], "Till 1")

    # On the first till: the owner signs in, picks the branch of the new till and presses
    # N. The code shows as text and as a QR code that a camera reads.
    first = make_app(first_data, sync_interval=3600, timeout=2.0)
    async with first.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: first.session.status().last_sync is not None, "first sync")
        tills = await sign_in_and_open_tills(pilot, first, cafe["owner_email"])
        table = tills.query_one("#till-table", DataTable)
        await until(pilot, lambda: table.row_count == 1, "the list of tills")
        assert [str(c) for c in table.get_row_at(0)][:2] == ["Till 1", "High Street"]
        assert str(table.get_row_at(0)[3]) == "online (this till)"
        select = tills.query_one("#pair-branch", Select)
        assert select.value == cafe["branches"]["High Street"]  # this till's, to start with
        await pilot.click("#pair-branch")
        await until(pilot, lambda: select.expanded, "the branches to choose from")
        await pilot.press(*"Station", "enter")  # typing finds it in the list
        assert select.value == cafe["branches"]["Station Road"]
        table.focus()  # N makes a code from the list of tills, and asks first
        await pilot.press("n", "y")
        code_shown = tills.query_one("#pair-code")
        await until(pilot, lambda: text_of(code_shown).startswith("Code "), "the pairing code")
        code = text_of(code_shown).split()[1]
        assert "type " + code in text_of(tills.query_one("#tills-message"))
        drawn = text_of(tills.query_one("#pair-qr"))
        assert QrDecoder().decode(pixels(drawn)).codes == (f"TPPAIR:{code}",)
        assert first.screen.query_one("#pair-qr").region.bottom <= SIZE[1]  # all of it shows

    # The second till: its pairing screen, the code typed; then a card, redeemed online.
    printed = Dummy()
    second = make_app(
        second_data,
        server_url=server.base,
        printer=EscposPrinter(printed),
        sync_interval=3600,
        timeout=2.0,
    )
    async with second.run_test(size=SIZE) as pilot:
        assert isinstance(second.screen, PairingScreen)
        await pilot.press(*code, "enter")
        await until(pilot, lambda: isinstance(second.screen, ScanScreen), "pairing")
        await until(pilot, lambda: second.session.status().last_sync is not None, "first sync")
        scan = second.screen
        assert isinstance(scan, ScanScreen)
        await usb_scan(pilot, cafe["card"]["token"])
        await pilot.press(*"4.20", "enter")
        await until(pilot, lambda: scan.step is Step.RECEIPT, "the verdict")
        assert scan.verdict_text.startswith("✔ APPROVED (online)")
        await pilot.press("enter")  # the receipt
        receipt = printed.output
        for words in (b"Station Road", b"Till", b"4.20", b"45.80"):
            assert words in receipt
        assert b"COPY" not in receipt

        # History: P prints the same receipt again, marked as a copy.
        await pilot.press("f2")
        await pilot.press("p")
        copy = printed.output[len(receipt) :]
        assert b"COPY" in copy
        assert b"Station Road" in copy
        assert b"45.80" in copy

        # On the scan screen, F8 prints the last receipt again.
        await pilot.press("f1", "f8")
        last = printed.output[len(receipt) + len(copy) :]
        assert b"COPY" in last
        assert b"4.20" in last
    balance = httpx.get(
        f"{server.base}/api/v1/gift-cards/{cafe['card']['id']}", headers=cafe["customer"]
    ).json()["balance"]["minor"]
    assert balance == 5000 - 420

    # Back on the first till: both tills listed, the second online at Station Road. Delete
    # on it asks first; N keeps it; Delete then Y revokes it.
    first = make_app(first_data, sync_interval=3600, timeout=2.0)
    async with first.run_test(size=SIZE) as pilot:
        tills = await sign_in_and_open_tills(pilot, first, cafe["owner_email"])
        table = tills.query_one("#till-table", DataTable)
        await until(pilot, lambda: table.row_count == 2, "both tills")
        rows = [[str(c) for c in table.get_row_at(r)] for r in range(2)]
        assert rows[1][0] != "Till 1"
        assert (rows[1][1], rows[1][3]) == ("Station Road", "online")
        table.focus()
        await pilot.press("down", "delete")
        assert isinstance(first.screen, ConfirmRevokeScreen)
        await pilot.press("n")
        assert not isinstance(first.screen, ConfirmRevokeScreen)
        assert "is kept" in text_of(tills.query_one("#tills-message"))
        await pilot.press("delete", "y")
        await until(
            pilot,
            lambda: table.row_count == 2 and str(table.get_row_at(1)[3]) == "revoked",
            "the revocation",
        )
    second_session = TerminalSession(second_data)
    assert second_session.sync() is None  # refused: revoked
    assert "revoked" in (second_session.status().said or "")
    second_session.close()


async def test_a_branch_edit_reaches_the_server_and_the_other_till(server, cafe, tmp_path):
    first_data, second_data = tmp_path / "first.db", tmp_path / "second.db"
    TerminalSession(first_data).pair(server.base, cafe["first_code"], "Till 1")
    first = make_app(first_data, sync_interval=3600, timeout=2.0)
    async with first.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: first.session.status().last_sync is not None, "first sync")
        await owner_at_the_till(pilot, first, cafe["owner_email"])
        await pilot.press("f3")
        first.screen.query_one(TabbedContent).active = "branches"
        table = first.screen.query_one("#branch-table", DataTable)
        await until(pilot, lambda: table.row_count == 2, "the branches")
        high_street = table.get_row_index(cafe["branches"]["High Street"])
        assert str(table.get_row_at(high_street)[0]) == "High Street (this till)"
        table.focus()
        table.move_cursor(row=high_street)
        await pilot.press("enter")  # pick it
        name = first.screen.query_one("#branch-name", Input)
        assert name.value == "High Street"
        name.value = "High Street (corner)"
        await pilot.press("enter", "enter")  # name, address as it is
        hours = first.screen.query_one("#branch-hours", Input)
        assert hours.has_focus
        for refused in ("mon-fri 18:00-08:00", ""):  # backwards; emptied (not "closed")
            hours.value = refused
            await pilot.press("enter")
            assert first.session.status().waiting == 0  # nothing queued
        hours.value = "mon-fri 08:00-18:00; sat 09:00-13:00"
        await pilot.press("enter")
        await until(pilot, lambda: first.session.status().waiting == 0, "the edit to sync")
        await until(
            pilot,
            lambda: (
                table.row_count == 2
                and {str(table.get_row_at(r)[3]) for r in range(2)} == {"synced"}
            ),
            "the list to refresh",
        )
    business = httpx.get(f"{server.base}/api/v1/businesses/{cafe['business_id']}").json()
    shown = {b["name"]: b for b in business["branches"]}
    assert shown["High Street (corner)"]["opening_hours"]["sat"] == [
        {"opens": "09:00", "closes": "13:00"}
    ]
    assert "sun" not in shown["High Street (corner)"]["opening_hours"]

    # Another till of the business learns it with its next pull; its receipts say it.
    code = httpx.post(
        f"{server.base}/api/v1/businesses/{cafe['business_id']}/pairing-codes",
        headers=cafe["owner"],
        json={"branch_id": cafe["branches"]["High Street"]},
    ).json()["code"]
    other = TerminalSession(second_data)
    other.pair(server.base, code, "Till 3")
    assert other.sync() is not None
    assert other.shop().branch == "High Street (corner)"
    other.close()


async def test_a_new_till_pairs_by_holding_the_qr_code_up_to_its_camera(server, cafe, tmp_path):
    """The QR code as the first till draws it, shown to the new till's camera: it pairs with
    nothing typed."""
    camera = CounterCamera()
    shown = half_blocks(f"TPPAIR:{cafe['first_code']}")
    app = make_app(
        tmp_path / "new.db", server_url=server.base, camera=camera, sync_interval=3600, timeout=2.0
    )
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, PairingScreen)
        camera.hold_up(pixels(shown))
        await until(pilot, lambda: isinstance(app.screen, ScanScreen), "pairing by camera")
        await until(pilot, lambda: app.last_sync is not None, "the sync after pairing")
        assert app.session.shop().branch == "High Street"
    camera.close()
