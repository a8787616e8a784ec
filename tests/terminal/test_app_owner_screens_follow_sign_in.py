"""The vendor screens follow who is signed in now (`App.run_test`, against the stand-in owner
server of test_owner_limits): the owner who signs in with the account after someone used the
screens by PIN finds the Owner and Tills tabs signed in, and after the account signs out
they are not signed in for whoever comes next."""

from __future__ import annotations

import pytest
from textual.widgets import Input, TabbedContent

from sync.client import SyncClient
from terminal.app.screens.owner import OwnerPane
from terminal.app.screens.signin import SignInScreen
from terminal.app.screens.tills import TillsPane
from terminal.app.screens.vendor import VendorScreen
from tests.terminal.test_owner_limits import OwnerTill, text_of
from tests.terminal.test_roles_app import signed_in_as, until

pytestmark = pytest.mark.anyio

ASK_OWNER = "Sign in as the owner in the Owner tab first"


@pytest.fixture
def till(tmp_path, key, monkeypatch):
    monkeypatch.setattr(SyncClient, "account_id", lambda client, token: "olive-id")
    till = OwnerTill(tmp_path, key, monkeypatch)
    yield till
    till.close()


async def to_tab(pilot, app, tab: str) -> None:
    await pilot.press("f3")
    assert isinstance(app.screen, VendorScreen)
    app.screen.query_one(TabbedContent).active = tab
    await pilot.pause()


async def sign_out(pilot, app) -> None:
    await pilot.press("f4")
    await until(pilot, lambda: isinstance(app.screen, SignInScreen), "the sign-in screen")


async def account_sign_in(pilot, app) -> None:
    app.screen.query_one("#account-email", Input).focus()
    await pilot.press(*"olive@example.com", "enter", *"secret", "enter")
    await until(pilot, lambda: app.session.owner_token is not None, "the owner's account")
    await until(pilot, lambda: app.current_mode == "scan", "the scan screen")


def owner_asks_for_the_account(app) -> bool:
    owner = app.screen.query_one(OwnerPane)
    return owner.desk is None and owner.query_one("#owner-sign-in").display


async def test_the_owner_tabs_open_signed_in_after_a_pin_session_and_not_after(till):
    app = till.app
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, SignInScreen), "the sign-in screen")
        await signed_in_as(pilot, till, "Olive")  # by PIN: the Owner tab asks for the account
        await to_tab(pilot, app, "owner-tab")
        assert owner_asks_for_the_account(app)
        await pilot.press("f1")
        await sign_out(pilot, app)

        await account_sign_in(pilot, app)
        await to_tab(pilot, app, "owner-tab")
        said = app.screen.query_one("#owner-message")
        await until(pilot, lambda: text_of(said).startswith("Signed in."), "signed in", 5)
        app.screen.query_one(TabbedContent).active = "tills-tab"
        tills = app.screen.query_one(TillsPane)
        listed = tills.query_one("#tills-message")
        await until(pilot, lambda: text_of(listed).startswith("1 till paired"), "the tills", 5)

        await sign_out(pilot, app)  # the account signs out; Olive comes back by PIN
        await signed_in_as(pilot, till, "Olive")
        await to_tab(pilot, app, "owner-tab")
        assert owner_asks_for_the_account(app)
        app.screen.query_one(TabbedContent).active = "tills-tab"
        await pilot.pause()
        assert text_of(app.screen.query_one("#tills-message")).startswith(ASK_OWNER)
