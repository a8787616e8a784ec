"""The Tills tab through the Textual app (`App.run_test`), signed in as the owner against the
stand-in server of test_owner_limits: a pairing code and its QR code go once a new till has
paired with it, or once it has expired, and names from the server draw as written."""

from __future__ import annotations

from datetime import timedelta

import pytest
from textual.widgets import DataTable, Select, Static, TabbedContent

from sync.wire import ChangesPage
from terminal.app.screens.tills import ConfirmRevokeScreen, TillsPane
from tests.terminal.test_owner_limits import OwnerTill, owner_tab, text_of
from tests.terminal.test_roles_app import until
from tests.terminal.test_till_offline import page
from tests.terminal.test_vendor_forms import drawn

pytestmark = pytest.mark.anyio

BRANCH = "branch00001"


def with_branches(till: OwnerTill, key, *names: str) -> None:
    branches = [
        {"id": f"branch0000{i}", "name": name, "address": f"{i} High Street"}
        for i, name in enumerate(names, start=1)
    ]
    till.store.apply_changes(
        ChangesPage.model_validate({**page(key).model_dump(), "branches": branches})
    )
    till.store.save_till_branch(BRANCH)


@pytest.fixture
def till(tmp_path, key, monkeypatch):
    monkeypatch.setattr(TillsPane, "CODE_CHECK_EVERY", 0.1, raising=False)
    till = OwnerTill(tmp_path, key, monkeypatch)
    with_branches(till, key, "High Street", "Station Road")
    yield till
    till.close()


async def tills_tab(pilot, till) -> TillsPane:
    """The owner signed in on the Owner tab; F6 to the Tills tab and its list."""
    await owner_tab(pilot, till)
    await pilot.press("f6")
    assert till.app.screen.query_one(TabbedContent).active == "tills-tab"
    tills = till.app.screen.query_one(TillsPane)
    assert isinstance(tills, TillsPane)
    table = tills.query_one("#till-table", DataTable)
    listed = len(till.server.devices_list)
    await until(pilot, lambda: table.row_count == listed, "the list of tills")
    return tills


async def new_code(pilot, tills: TillsPane) -> str:
    """N in the list, then Y: a code for the branch picked."""
    tills.query_one("#till-table", DataTable).focus()
    await pilot.press("n", "y")
    shown = tills.query_one("#pair-code", Static)
    await until(pilot, lambda: text_of(shown).startswith("Code "), "the pairing code")
    assert tills.query_one("#pair-qr").display
    return text_of(shown).split()[1]


def code_gone(tills: TillsPane) -> bool:
    return text_of(tills.query_one("#pair-code")) == "" and not tills.query_one("#pair-qr").display


async def test_the_code_goes_once_a_new_till_has_paired_with_it(till):
    async with till.app.run_test(size=(120, 40)) as pilot:
        tills = await tills_tab(pilot, till)
        code = await new_code(pilot, tills)
        assert till.server.codes[-1].branch_id == BRANCH
        await pilot.pause(0.3)
        assert not code_gone(tills)  # nothing paired yet

        # Another till of the business pairs elsewhere with another code: this one stays.
        till.server.devices_list.append(till.server.device("other", "Back till", "branch00002"))
        table = tills.query_one("#till-table", DataTable)
        await until(pilot, lambda: table.row_count == 2, "the list to follow", timeout=5)
        assert not code_gone(tills)

        till.server.devices_list.append(till.server.device("new", "Till 2", BRANCH))
        await until(pilot, lambda: code_gone(tills), "the used code to go", timeout=5)
        assert table.row_count == 3
        said = text_of(tills.query_one("#tills-message"))
        assert said == (
            f"Till 2 has paired with the code {code}, so it is used up. N makes another."
        )


async def test_the_code_goes_once_it_has_expired(till):
    # The clock jumps 15 minutes: the owner is taken to be at the till all along (else the
    # idle sign-out would end the session, and the vendor screens with it).
    till.app.idle_timeout = timedelta(0)
    async with till.app.run_test(size=(120, 40)) as pilot:
        tills = await tills_tab(pilot, till)
        code = await new_code(pilot, tills)
        till.now = till.server.codes[-1].expires_at - timedelta(seconds=1)
        await pilot.pause(0.3)
        assert not code_gone(tills)
        till.now = till.server.codes[-1].expires_at + timedelta(seconds=1)
        await until(pilot, lambda: code_gone(tills), "the expired code to go", timeout=5)
        said = text_of(tills.query_one("#tills-message"))
        assert said == f"The code {code} has expired: N makes a new one."


async def test_names_from_the_server_draw_as_written(tmp_path, key, monkeypatch):
    till = OwnerTill(tmp_path, key, monkeypatch)
    with_branches(till, key, "High [/b] Street", "[red]Station")
    till.server.devices_list.append(till.server.device("new", "Till [/b] 2", "branch00002"))
    try:
        async with till.app.run_test(size=(120, 40)) as pilot:
            tills = await tills_tab(pilot, till)
            table = tills.query_one("#till-table", DataTable)
            shown = [[drawn(cell) for cell in table.get_row_at(row)] for row in range(2)]
            assert shown[1][:2] == ["Till [/b] 2", "[red]Station"]
            select = tills.query_one("#pair-branch", Select)
            assert select.value == BRANCH
            label = select.query_one("SelectCurrent #label", Static)
            assert text_of(label) == "High [/b] Street"
            table.focus()
            await pilot.press("down", "delete")
            assert isinstance(till.app.screen, ConfirmRevokeScreen)
            question = till.app.screen.query_one(Static)
            assert text_of(question).startswith("Revoke the till Till [/b] 2?")
            await pilot.press("y")
            said = tills.query_one("#tills-message")
            await until(pilot, lambda: text_of(said).startswith("Revoked"), "the revocation")
            assert text_of(said).startswith("Revoked Till [/b] 2:")
            await pilot.pause()
    finally:
        till.close()
