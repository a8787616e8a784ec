"""The till in a real browser: `tillpoint terminal --serve` against the real server (uvicorn on
127.0.0.1), driven by Playwright in Debian's Chromium. Sign in with the printed access code,
type a card's code and an amount, see APPROVED; F5 syncs the till instead of reloading the page.

The terminal draws on a canvas, so the test reads the screen from what the browser was sent
over the websocket, through a terminal emulator (pyte) of the size the browser asked for.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pyte
import pytest
from playwright.sync_api import Page, WebSocket

from tests.e2e.conftest import (
    StoppableServer,
    free_port,
    open_cafe,
    paired_terminal,
    printed,
    running,
    signed_in,
    tillpoint,
)

# Each key press is recorded as it starts (a capture listener installed before the page's
# own scripts), so the test can read afterwards whether anything kept the browser from
# acting on it: a reload on F5 is the browser's own, which Playwright's keys never trigger.
RECORD_KEYS = """
window.tillKeys = [];
window.addEventListener("keydown", (event) => window.tillKeys.push(event), true);
"""
KEYS_SEEN = "window.tillKeys.map((event) => [event.key, event.defaultPrevented])"


class TerminalView:
    """What the terminal in `page` shows, rebuilt from the bytes its websocket received."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.screen = pyte.Screen(80, 24)
        self.stream = pyte.ByteStream(self.screen)
        page.on("websocket", self._watch)

    def _watch(self, websocket: WebSocket) -> None:
        size = re.search(r"width=(\d+)&height=(\d+)", websocket.url)
        if size:
            self.screen.resize(int(size[2]), int(size[1]))
        websocket.on("framereceived", self._received)
        websocket.on("framesent", self._sent)

    def _received(self, payload: str | bytes) -> None:
        if isinstance(payload, bytes):
            self.stream.feed(payload)

    def _sent(self, payload: str | bytes) -> None:
        message = json.loads(payload)
        if message[0] == "resize":
            self.screen.resize(message[1]["height"], message[1]["width"])

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display)

    def wait_for(self, condition: str | Callable[[str], bool], timeout: float = 20) -> str:
        """The screen once it shows `condition` (a text, or a test of the whole screen)."""
        test = condition if callable(condition) else (lambda text: condition in text)
        deadline = time.monotonic() + timeout
        while not test(screen := self.text()):
            if time.monotonic() > deadline:
                raise AssertionError(f"the terminal never showed {condition!r}:\n{screen}")
            self.page.wait_for_timeout(50)  # lets Playwright deliver the frames meanwhile
        return screen


@pytest.fixture
def server(tmp_path):
    server = StoppableServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def served_till(server, tmp_path) -> Iterator[dict[str, Any]]:
    """A café with a £50 card, a till paired with it, served by `tillpoint terminal --serve`."""
    owner = signed_in(server.base, "vendor")
    cafe = open_cafe(server.base, owner)
    data = tmp_path / "till.db"
    store, _ = paired_terminal(server.base, owner, cafe["business"]["id"], data, "Till 1")
    store.close()
    port = free_port()
    # No background syncs: what syncs here is the first one, the server's news, and F5.
    process = tillpoint(
        "terminal", "--serve", "--port", str(port), "--data", str(data), "--sync-interval", "3600"
    )
    with running(process, port) as base:
        code = re.search(r"access code: (\S+)", printed(process))
        assert code, printed(process)
        yield {**cafe, "base": base, "code": code[1], "server": server.base, "data": data}


def test_a_cashier_redeems_a_card_in_the_browser_and_f5_syncs(browser, served_till):
    context = browser.new_context(viewport={"width": 1000, "height": 640})
    context.add_init_script(RECORD_KEYS)
    page = context.new_page()
    view = TerminalView(page)

    # Never open as it is: the till's page asks for the access code first.
    page.goto(served_till["base"] + "/")
    assert page.url.endswith("/sign-in")
    page.fill("#code", "not-the-code")
    page.click("button[type=submit]")
    assert "That is not the access code" in page.inner_text("main")
    page.fill("#code", served_till["code"])
    page.click("button[type=submit]")
    assert page.url == served_till["base"] + "/"

    view.wait_for("Scan a code")
    view.wait_for("Synced:")  # the first sync brought the card and the business's limits

    # F5 syncs the till and the page stays: nothing else syncs on its own here, and a sync
    # that moved nothing only speaks when the cashier asked.
    page.evaluate("window.stayed = true")
    page.keyboard.press("F5")
    view.wait_for("Synced: 0 sent, 0 changes received")
    assert page.evaluate("window.stayed") is True
    assert page.evaluate(KEYS_SEEN) == [["F5", True]]  # the browser was kept from reloading

    page.keyboard.type(served_till["card"]["token"])
    page.keyboard.press("Enter")
    view.wait_for("Amount to redeem")
    page.keyboard.type("4.20")
    page.keyboard.press("Enter")
    screen = view.wait_for("A P P R O V E D")
    assert "Balance left: £45.80" in screen
    card = httpx.get(
        f"{served_till['server']}/api/v1/gift-cards/{served_till['card']['id']}",
        headers=served_till["customer"],
    ).json()
    assert card["balance"]["minor"] == 4580  # taken on the server, not only on the screen

    # Focus elsewhere (nothing clicked yet, say): F5 still leaves the page where it is, and
    # gives the terminal the keys back.
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("F5")
    assert page.evaluate("window.stayed") is True
    assert page.evaluate(KEYS_SEEN)[-1] == ["F5", True]
    assert page.evaluate("document.activeElement.className") == "xterm-helper-textarea"

    # The Ctrl aliases reach the till too: today's history, and back to the scan screen.
    page.keyboard.press("Control+l")
    view.wait_for("Tillpoint · Today's redemptions")
    page.keyboard.press("Control+s")
    view.wait_for("Tillpoint · Scan")
    context.close()
