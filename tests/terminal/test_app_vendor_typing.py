"""Typing on the vendor screens goes where the tab says it does, and nothing on the Tills tab
is one stray key away (`App.run_test`, against the stand-in owner server): a product name
typed on the Products tab lands in its field; the Tills tab, shown again, takes typed words
without making a pairing code or revoking a till: its keys act in the list only, N asks
first (Y makes it), and Delete, never R, revokes (after Y); the new till's branch is asked
for when it is not clear; a price with a decimal comma is refused once, in the scan screen's
words."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Input, Select, TabbedContent

from sync.client import SyncClient
from terminal.app.screens.signin import SignInScreen
from terminal.app.screens.tills import ConfirmPairingCodeScreen, ConfirmRevokeScreen, TillsPane
from terminal.app.screens.vendor import VendorScreen
from tests.terminal.test_owner_limits import OwnerTill, text_of
from tests.terminal.test_roles_app import signed_in_as, until
from tests.terminal.test_tills_pairing_code import BRANCH, with_branches

pytestmark = pytest.mark.anyio


@pytest.fixture
def till(tmp_path, key, monkeypatch):
    monkeypatch.setattr(SyncClient, "account_id", lambda client, token: "olive-id")
    till = OwnerTill(tmp_path, key, monkeypatch)
    with_branches(till, key, "Camden", "Shoreditch")
    yield till
    till.close()


async def as_the_owner(pilot, till) -> None:
    """Olive signs in with the owner's account on the sign-in screen."""
    app = till.app
    await until(pilot, lambda: isinstance(app.screen, SignInScreen), "the sign-in screen")
    app.screen.query_one("#account-email", Input).focus()
    await pilot.press(*"olive@example.com", "enter", *"secret", "enter")
    await until(pilot, lambda: app.current_mode == "scan", "the scan screen")


async def tills_listed(pilot, app) -> TillsPane:
    tills: TillsPane = app.screen.query_one(TillsPane)
    table = tills.query_one("#till-table", DataTable)
    await until(pilot, lambda: table.row_count == 1, "the list of tills", 5)

    def listing() -> bool:
        return any(
            w.node is tills and w.group == "tills" and not w.is_finished for w in app.workers
        )

    await until(pilot, lambda: not listing(), "every look at the list to answer", 5)
    await pilot.pause()
    return tills


async def test_a_product_name_typed_on_the_products_tab_lands_in_its_field(till):
    app = till.app
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, SignInScreen), "the sign-in screen")
        await signed_in_as(pilot, till, "Alex")
        await pilot.press("f3", *"Scone")
        assert isinstance(app.screen, VendorScreen)
        assert app.screen.query_one("#product-name", Input).value == "Scone"


async def test_a_word_typed_on_the_tills_tab_shown_again_makes_no_code(till):
    app = till.app
    async with app.run_test(size=(120, 40)) as pilot:
        await as_the_owner(pilot, till)
        await pilot.press("f3")
        app.screen.query_one(TabbedContent).active = "tills-tab"
        await tills_listed(pilot, app)
        await pilot.press("f1", "f3")  # later: F3 reopens on the Tills tab
        assert app.screen.query_one(TabbedContent).active == "tills-tab"
        assert app.focused is app.screen.query_one("#pair-branch")  # the branch picker
        await pilot.press(*"Muffin", "enter", *"Rye", "escape", *"Nylon", "escape")
        await pilot.pause()
        assert till.server.codes == []
        assert till.server.revoked == []
        assert isinstance(app.screen, VendorScreen)


async def test_n_then_y_makes_a_code_for_the_branch_it_names(till):
    app = till.app
    async with app.run_test(size=(120, 40)) as pilot:
        await as_the_owner(pilot, till)
        await pilot.press("f3")
        app.screen.query_one(TabbedContent).active = "tills-tab"
        tills = await tills_listed(pilot, app)
        tills.query_one("#till-table").focus()
        await pilot.press("n")
        question = app.screen
        assert isinstance(question, ConfirmPairingCodeScreen)
        assert question.branch == "Camden"  # this till's branch
        await pilot.press("y")
        await until(pilot, lambda: len(till.server.codes) == 1, "the code", 5)
        assert till.server.codes[0].branch_id == BRANCH


async def test_with_two_branches_and_none_this_till_s_n_asks_which(till):
    till.store.db.execute("DELETE FROM meta WHERE key = 'till_branch'")
    app = till.app
    async with app.run_test(size=(120, 40)) as pilot:
        await as_the_owner(pilot, till)
        await pilot.press("f3")
        app.screen.query_one(TabbedContent).active = "tills-tab"
        tills = await tills_listed(pilot, app)
        select = tills.query_one("#pair-branch", Select)
        assert select.is_blank()
        tills.query_one("#till-table").focus()
        await pilot.press("n")
        assert isinstance(app.screen, VendorScreen)  # no question: which branch first
        said = text_of(tills.query_one("#tills-message"))
        assert said == (
            "Pick the new till's branch first (Branch of the new till), then N in the list."
        )
        assert app.focused is select
        select.value = "branch00002"
        tills.query_one("#till-table").focus()
        await pilot.press("n")
        question = app.screen
        assert isinstance(question, ConfirmPairingCodeScreen)
        assert question.branch == "Shoreditch"
        await pilot.press("y")
        await until(pilot, lambda: len(till.server.codes) == 1, "the code", 5)
        assert till.server.codes[0].branch_id == "branch00002"


async def test_a_till_is_revoked_with_delete_in_the_list_never_with_r(till):
    till.server.devices_list.append(till.server.device("back", "Back till", BRANCH))
    app = till.app
    async with app.run_test(size=(120, 40)) as pilot:
        await as_the_owner(pilot, till)
        await pilot.press("f3")
        app.screen.query_one(TabbedContent).active = "tills-tab"
        table = app.screen.query_one("#till-table", DataTable)
        await until(pilot, lambda: table.row_count == 2, "the list of tills", 5)
        table.focus()
        await pilot.press("down", "r", "y")
        assert isinstance(app.screen, VendorScreen)
        await pilot.press("delete")
        assert isinstance(app.screen, ConfirmRevokeScreen)
        await pilot.press("y")
        await until(pilot, lambda: till.server.revoked == ["back"], "the revocation", 5)


async def test_a_price_with_a_decimal_comma_is_refused_once_in_the_scan_screen_s_words(till):
    app = till.app
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, SignInScreen), "the sign-in screen")
        await signed_in_as(pilot, till, "Alex")
        await pilot.press("f3")
        app.screen.query_one("#product-name", Input).focus()
        till.said.clear()
        await pilot.press(*"Scone", "enter", *"2,50", "enter")
        await pilot.pause()
        said = "Not saved: for £2.50 type 2.50, with a point, not a comma."
        assert [line for line in till.said if line.startswith("Not saved")] == [said]
