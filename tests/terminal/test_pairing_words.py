"""The pairing screen shows the server's reason for refusing as it is written: text from a
server is never read as markup (a reason with "[/b]" in it crashed the screen)."""

from __future__ import annotations

import pytest
from textual.app import App
from textual.widgets import Static

from terminal.app.screens.pairing import PairingScreen

pytestmark = pytest.mark.anyio


async def test_a_refusal_with_brackets_is_shown_as_written():
    app: App[None] = App()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = PairingScreen("http://127.0.0.1:9")
        await app.push_screen(screen)
        screen.post_message(PairingScreen.PairingFailed("That code [/b] is [red]used"))
        await pilot.pause()
        prompt = screen.query_one("#prompt", Static)
        assert str(prompt.render()) == "Not paired: That code [/b] is [red]used"
