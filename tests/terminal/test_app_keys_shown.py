"""The footer shows only keys that do something where it is (`App.run_test`): on the PIN
sign-in screen no F1, F2, F3 or F7 (each would only say "sign in first", which a hidden key
still says when pressed); on the scan screen F8 once there is a receipt to print again; on an
unpaired till's pairing screen nothing but Quit. And a password typed on the sign-in screen
is gone when the screen comes back."""

from __future__ import annotations

import pytest
from textual.widgets import Input

from sync.tokens import id_text, new_id
from terminal.app import make_app
from terminal.app.screens.pairing import PairingScreen
from terminal.app.screens.scan import ScanScreen, Step
from terminal.app.screens.signin import SignInScreen
from terminal.core.kinds import CardStatus
from tests.terminal.test_footer_and_status_line import footer
from tests.terminal.test_roles_app import Counter, signed_in_as, until
from tests.terminal.test_till_offline import card_token, unused_url

pytestmark = pytest.mark.anyio

SIGN_IN_FIRST = {"F1/^s", "F2/^l", "F3/^b", "F7/^k"}


async def test_the_pin_sign_in_screen_shows_no_key_that_only_says_sign_in_first(tmp_path, key):
    counter = Counter(tmp_path, key)
    app = counter.app
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, SignInScreen), "the sign-in screen")
            await pilot.pause()
            keys = footer(app)
            assert not SIGN_IN_FIRST & set(keys), keys
            assert keys["^q"][0] == "Quit"
            await pilot.press("f1")  # not shown, and still says why it does nothing
            assert counter.said[-1] == "Sign in first: pick your name and type your PIN."
            assert isinstance(app.screen, SignInScreen)
            await signed_in_as(pilot, counter, "Sam")
            await pilot.pause()
            assert {"F2/^l", "F3/^b", "F7/^k"} <= set(footer(app))  # Sam is told why, there
    finally:
        counter.close()


async def test_f8_shows_on_the_scan_screen_once_there_is_a_receipt(counter, key):
    card = new_id()
    counter.store.cache_card(id_text(card), "GBP", 2000, CardStatus.ACTIVE)
    app = counter.app
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ScanScreen), "the scan screen")
        await pilot.pause()
        assert "F8/^p" not in footer(app)
        await pilot.press("f8")  # not shown: it says there is nothing yet
        assert counter.said[-1].startswith("No receipt to print again yet")
        scan = app.screen
        assert isinstance(scan, ScanScreen)
        scan.take_code(card_token(key, card))
        await pilot.press(*"4.20", "enter")
        await until(pilot, lambda: scan.step is Step.RECEIPT, "the verdict")
        await pilot.pause()
        assert footer(app)["F8/^p"][0] == "Reprint"


async def test_an_unpaired_till_shows_only_quit_and_its_keys_do_nothing(tmp_path):
    app = make_app(tmp_path / "till.db", server_url=unused_url(), sync_interval=3600)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, PairingScreen), "the pairing screen")
        await pilot.pause()
        assert set(footer(app)) == {"^q"}
        for pressed in ("f1", "f2", "f3", "f4", "f5", "f7", "f8"):
            await pilot.press(pressed)
            assert isinstance(app.screen, PairingScreen), pressed


async def test_a_password_typed_on_the_sign_in_screen_is_gone_when_it_comes_back(counter):
    app = counter.app
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ScanScreen), "the scan screen")
        await pilot.press("f4")
        assert isinstance(app.screen, SignInScreen)
        password = app.screen.query_one("#account-password", Input)
        password.focus()
        await pilot.press(*"secret")
        assert password.value == "secret"
        await pilot.press("f1", "f4")
        assert isinstance(app.screen, SignInScreen)
        assert app.screen.query_one("#account-password", Input).value == ""
