"""Every function key of the till has a Ctrl alias, for where the function key is taken before
the till sees it (a browser reloads on F5, a terminal emulator opens help on F1): the alias does
the same, and the footer shows both, all of it within 80 columns."""

from __future__ import annotations

import socket

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from textual.widgets import Footer

from terminal.app import make_app
from terminal.app.screens.history import HistoryScreen
from terminal.app.screens.scan import ScanScreen
from terminal.core.store import Pairing, TerminalStore

pytestmark = pytest.mark.anyio


@pytest.fixture
def app(tmp_path):
    """A paired till whose server is not there: every sync fails at once, and says so."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{s.getsockname()[1]}"
    store = TerminalStore(tmp_path / "till.db")
    store.save_pairing(Pairing(nowhere, "dev", "biz", "secret", Ed25519PrivateKey.generate()))
    store.close()
    return make_app(tmp_path / "till.db", sync_interval=3600, timeout=0.5)


async def settle(pilot) -> None:
    """Until the syncs under way have finished and said so (the stream's worker goes on)."""
    syncs = [worker for worker in pilot.app.workers if worker.group == "sync"]
    if syncs:  # none would mean every worker, the stream's too, to the textual API
        await pilot.app.workers.wait_for_complete(syncs)
    await pilot.pause()


@pytest.mark.parametrize(
    ("keys", "screen"),
    [(("f2", "f1"), ScanScreen), (("f2",), HistoryScreen), (("ctrl+l", "ctrl+s"), ScanScreen)],
)
async def test_a_function_key_and_its_ctrl_alias_open_the_same_screen(app, keys, screen):
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+l")
        assert isinstance(app.screen, HistoryScreen)
        for key in keys:
            await pilot.press(key)
        assert isinstance(app.screen, screen)


@pytest.mark.parametrize("key", ["f5", "ctrl+r"])
async def test_f5_and_ctrl_r_sync_and_say_what_happened(app, key):
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.last_said = ""
        await pilot.press(key)
        await settle(pilot)
        assert app.last_said == "Could not reach the server: working offline"


async def test_the_footer_shows_each_function_key_with_its_alias_within_80_columns(app):
    """Each function key with its alias, but the one of the screen showing (its title names
    it, and 80 columns hold no more), nor F3 and F7 while they wait for the owner to sign
    in: F4 named for what it does, F8 where there is a receipt to print."""
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for screen_key, here in [("f1", "F1/^s"), ("f2", "F2/^l"), ("f3", "F2/^l")]:
            await pilot.press(screen_key)  # F3: the vendor screens stay shut, no PINs yet
            keys = {
                key.key_display: (key.description, key.region.right)
                for key in app.screen.query_one(Footer).query("FooterKey")
            }
            for shown, words in [
                ("F1/^s", "Scan"),
                ("F2/^l", "History"),
                ("F3/^b", "Vendor"),
                ("F4/^o", "Sign in"),  # no one signed in: F4 opens the sign-in screen
                ("F5/^r", "Sync"),
                ("F7/^k", "Staff"),
            ]:
                if shown == here or shown in ("F3/^b", "F7/^k"):  # no PINs, no one signed in
                    assert shown not in keys
                else:
                    assert keys[shown][0] == words
            assert "F8/^p" not in keys  # nothing approved yet; P in the history
            assert max(right for _, right in keys.values()) <= 80, keys


@pytest.mark.parametrize("key", ["f8", "ctrl+p"])
async def test_f8_and_ctrl_p_print_the_last_receipt_again(app, key):
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        said: list[str] = []
        app.notify = lambda message, **_: said.append(str(message))
        await pilot.press(key)
        assert len(said) == 1  # the scan screen's answer: nothing approved here to print
        assert "receipt" in said[0]
