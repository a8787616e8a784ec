"""The two lines every screen has, through the Textual app at 80x24 (`App.run_test`).

The footer: each function key with its Ctrl alias (F8 and Ctrl+P too), F4 named for what it
does now (Sign in, Sign out), F7 and Quit shown, all within 80 columns, for each role on each
screen; no key that would only say "sign in first" (test_app_keys_shown.py). The status
line: a till the owner revoked says so, lastingly, rather than ONLINE."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from textual.widgets import DataTable, Footer, Input

from hardware import TextPrinter
from sync.client import SyncClient
from sync.tokens import id_text, new_id
from terminal.app import make_app
from terminal.app.screens.history import HistoryScreen
from terminal.app.screens.scan import ScanScreen, Step
from terminal.app.screens.signin import SignInScreen
from terminal.app.screens.staff import StaffScreen
from terminal.app.screens.vendor import VendorScreen
from terminal.app.status import StatusLine, SuspensionNotice
from terminal.core.kinds import CardStatus
from terminal.core.session import TerminalSession
from terminal.core.store import Pairing, TerminalStore
from tests.terminal.test_roles_app import Counter, signed_in_as, until
from tests.terminal.test_till_offline import BUSINESS, card_token, page

pytestmark = pytest.mark.anyio

REVOKED = "This till was revoked by the owner: pair it again with a new code"


def text_of(widget) -> str:
    return str(widget.render())


def footer(app) -> dict[str, tuple[str, int]]:
    """What the footer shows: each key as shown, with its words and where it ends."""
    return {
        key.key_display: (key.description, key.region.right)
        for key in app.screen.query_one(Footer).query("FooterKey")
    }


FUNCTION_KEYS = {
    "F1/^s": "Scan",
    "F2/^l": "History",
    "F3/^b": "Vendor",
    "F5/^r": "Sync",
    "F7/^k": "Staff",
}
SCREEN_KEY = {ScanScreen: "F1/^s", HistoryScreen: "F2/^l", VendorScreen: "F3/^b"}


def check_footer(
    app, *, signed_in: bool, refused: frozenset[str] = frozenset()
) -> dict[str, tuple[str, int]]:
    """Every function key with its alias, but the one of the screen showing (its title
    names it) and those `refused` (they would only say "sign in first"); F4 named for what
    it does; all within 80 columns."""
    keys = footer(app)
    here = SCREEN_KEY.get(type(app.screen))
    for shown, words in FUNCTION_KEYS.items():
        if shown == here or shown in refused:
            assert shown not in keys
        else:
            assert keys[shown][0] == words, (type(app.screen).__name__, keys)
    if not isinstance(app.screen, SignInScreen):
        assert keys["F4/^o"][0] == ("Sign out" if signed_in else "Sign in")
    for shown in keys:
        if shown.startswith("F"):
            assert shown[2:4] == "/^", keys  # never a function key alone
    assert max(right for _, right in keys.values()) <= 80, keys
    return keys


async def test_the_footer_with_no_one_signed_in_and_no_pins_yet(tmp_path, key):
    counter = Counter(tmp_path, key, staff=())
    app = counter.app
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, ScanScreen), "the scan screen")
            await pilot.pause()
            # No PINs yet: F3 and F7 wait for the owner to sign in; nothing to print yet.
            owner_only = frozenset({"F3/^b", "F7/^k"})
            keys = check_footer(app, signed_in=False, refused=owner_only)
            assert "F8/^p" not in keys
            await pilot.press("f2")
            keys = check_footer(app, signed_in=False, refused=owner_only)
            assert (keys["p"][0], keys["v"][0]) == ("Reprint", "Void")
            await pilot.press("f4")  # Sign in: the sign-in screen
            assert isinstance(app.screen, SignInScreen)
            keys = check_footer(app, signed_in=False, refused=owner_only)
            assert keys["^q"][0] == "Quit"
            assert "F4/^o" not in keys  # already there
    finally:
        counter.close()


@pytest.mark.parametrize("name", ["Sam", "Alex", "Olive"])
async def test_the_footer_for_each_role_on_each_screen(tmp_path, key, name):
    counter = Counter(tmp_path, key)
    app = counter.app
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, SignInScreen), "the sign-in screen")
            refused = frozenset(FUNCTION_KEYS) - {"F5/^r"}  # each would say "sign in first"
            keys = check_footer(app, signed_in=False, refused=refused)
            assert keys["^q"][0] == "Quit"
            await signed_in_as(pilot, counter, name)
            await pilot.pause()
            keys = check_footer(app, signed_in=True)
            assert "F8/^p" not in keys  # nothing approved here yet (test_app_keys_shown.py)
            assert "^q" not in keys  # Ctrl+Q works, shown where no one is signed in
            await pilot.press("f2")
            check_footer(app, signed_in=True)
            if name != "Sam":
                await pilot.press("f3")
                keys = check_footer(app, signed_in=True)
                assert "F8/^p" not in keys  # nothing to print again here
            await pilot.press("ctrl+o")  # F4's alias: signs out
            await until(pilot, lambda: isinstance(app.screen, SignInScreen), "signed out")
            assert app.session.signed_in is None
    finally:
        counter.close()


async def test_the_footer_on_the_owner_s_staff_screen(tmp_path, key, monkeypatch):
    monkeypatch.setattr(SyncClient, "till_staff", lambda client, business, token: [])
    monkeypatch.setattr(SyncClient, "account_id", lambda client, token: "olive-id")
    monkeypatch.setattr(TerminalSession, "sign_in_owner", lambda session, e, p: "token")
    counter = Counter(tmp_path, key)
    app = counter.app
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, SignInScreen), "the sign-in screen")
            app.screen.query_one("#account-email", Input).focus()
            await pilot.press(*"olive@example.com", "enter", *"password", "enter")
            await until(pilot, lambda: app.session.owner_token is not None, "the owner")
            await pilot.press("ctrl+k")  # F7's alias
            assert isinstance(app.screen, StaffScreen)
            app.screen.query_one(DataTable).focus()
            await pilot.pause()
            keys = footer(app)
            assert keys["Del"][0] == "Clear PIN"  # in the list only
            assert "F7/^k" not in keys
            assert keys["F4/^o"][0] == "Sign out"
            assert max(right for _, right in keys.values()) <= 80, keys
            app.screen.query_one("#staff-name", Input).focus()
            await pilot.pause()
            assert "Del" not in footer(app)
    finally:
        counter.close()


@pytest.mark.parametrize("alias", [False, True])
async def test_f8_and_ctrl_p_print_again_on_the_scan_screen_and_in_the_history(
    tmp_path, key, alias
):
    counter = Counter(tmp_path, key, staff=())
    card = new_id()
    counter.store.cache_card(id_text(card), "GBP", 2000, CardStatus.ACTIVE)
    app = counter.app
    receipts = tmp_path / "receipts.txt"
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, ScanScreen), "the scan screen")
            scan = app.screen
            assert isinstance(scan, ScanScreen)
            scan.take_code(card_token(key, card))
            await pilot.press(*"4.20", "enter")
            await until(pilot, lambda: scan.step is Step.RECEIPT, "the verdict")
            await pilot.press("escape")  # no receipt now
            before = receipts.read_text() if receipts.exists() else ""
            await pilot.press("ctrl+p" if alias else "f8")
            await until(pilot, lambda: receipts.exists() and receipts.read_text() != before, "F8")
            printed = receipts.read_text()
            await pilot.press("f2")
            await pilot.press("ctrl+p" if alias else "f8")
            await until(pilot, lambda: receipts.read_text() != printed, "F8 in the history")
    finally:
        counter.close()


# -- a revoked till ---------------------------------------------------------------------------


class Refusing(BaseHTTPRequestHandler):
    """A server that refuses every call of this terminal, as it does a revoked one's."""

    kind = "device-revoked"

    def _refuse(self) -> None:
        body = json.dumps(
            {
                "type": f"https://tillpoint.dev/problems/{self.kind}",
                "title": "Refused",
                "status": 403,
                "detail": "The owner did something: words that may change.",
            }
        ).encode()
        self.send_response(403)
        self.send_header("Content-Type", "application/problem+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = _refuse

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet


def refusing_server(kind: str) -> Iterator[str]:
    handler = type("Handler", (Refusing,), {"kind": kind})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def revoked_url() -> Iterator[str]:
    yield from refusing_server("device-revoked")


@pytest.fixture
def other_refusal_url() -> Iterator[str]:
    yield from refusing_server("something-else")


def till_at(tmp_path, key, url: str):
    store = TerminalStore(tmp_path / "till.db")
    store.save_pairing(
        Pairing(url, "dev", id_text(BUSINESS), "secret", Ed25519PrivateKey.generate())
    )
    store.apply_changes(page(key))
    store.close()
    return make_app(
        tmp_path / "till.db",
        clock=lambda: datetime.now(UTC),
        printer=TextPrinter(tmp_path / "receipts.txt"),
        sync_interval=3600,
        timeout=2.0,
    )


async def test_a_revoked_till_says_so_on_every_screen_until_it_is_paired_again(
    tmp_path, key, revoked_url
):
    app = till_at(tmp_path, key, revoked_url)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.last_sync_ok is False, "the first sync, refused")
        await pilot.pause(0.1)
        status = app.screen.query_one(StatusLine)
        await until(pilot, lambda: text_of(status).startswith(REVOKED), "the status line")
        assert "ONLINE" not in text_of(status)
        notice = app.screen.query_one(SuspensionNotice)
        assert notice.display
        assert text_of(notice).startswith(REVOKED)
        await pilot.press("f2")  # another screen: the status line says it too
        assert text_of(app.screen.query_one(StatusLine)).startswith(REVOKED)
        await pilot.press("f5")  # asked again: still refused, still said
        await until(pilot, lambda: app.last_said.startswith("The server refused"), "F5")
        await pilot.pause(1.1)
        assert text_of(app.screen.query_one(StatusLine)).startswith(REVOKED)


async def test_another_refusal_is_not_taken_for_a_revocation(tmp_path, key, other_refusal_url):
    app = till_at(tmp_path, key, other_refusal_url)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.last_sync_ok is False, "the first sync, refused")
        await pilot.pause(1.1)
        assert "revoked" not in text_of(app.screen.query_one(StatusLine))
        assert not app.screen.query_one(SuspensionNotice).display


async def test_a_revoked_till_still_says_so_after_a_restart_with_the_server_down(tmp_path, key):
    app = till_at(tmp_path, key, "http://127.0.0.1:9")  # nothing answers there
    app.session.store.save_revoked()  # heard before the restart
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.last_sync_ok is False, "the first sync, unanswered")
        await pilot.pause(1.1)
        status = app.screen.query_one(StatusLine)
        assert text_of(status).startswith(REVOKED)
        assert text_of(app.screen.query_one(SuspensionNotice)).startswith(REVOKED)
