"""Pairing: the owner's one-time code, typed or scanned, and the server's address; or, for
a business's first till, the owner's account."""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from ...core.session import PairingFailedError
from ..base import tillpoint

QR_PREFIX = "TPPAIR:"
PAIRING_CODE = re.compile(r"^[A-Z0-9]{8}$")


def pairing_code(typed: str) -> str | None:
    """The code as the server reads it, from what was typed or scanned: in any case, with
    or without the QR code's prefix, split by a dash or spaces (as read aloud, or copied in
    two halves), as `tillpoint terminal pair` takes it; `K7Q2-M9XA`. None when that is not
    8 letters and digits."""
    text = typed.strip().upper().removeprefix(QR_PREFIX)
    bare = re.sub(r"[\s-]", "", text)
    return f"{bare[:4]}-{bare[4:]}" if PAIRING_CODE.match(bare) else None


class PairingScreen(Screen[None]):
    """Dismissed once the terminal is paired and has taken its first sync."""

    @dataclass
    class Paired(Message):
        """The terminal is paired; `synced` says whether its first sync got through."""

        synced: bool

    @dataclass
    class PairingFailed(Message):
        """Pairing did not work; `reason` says why and what to try."""

        reason: str

    def __init__(self, server_url: str) -> None:
        super().__init__()
        self.server_url = server_url

    def compose(self) -> ComposeResult:
        yield Static("Tillpoint · Pair this terminal", id="title")
        yield Static(
            "On a till already paired, the owner makes a pairing code (F3, then N on the "
            "Tills tab): hold its QR code up to this till's camera or scanner, or type it. "
            "The first till of a business: its owner signs in below instead.",
            id="explain",
        )
        yield Static("Server address", classes="label")
        yield Input(self.server_url, placeholder="https://…", id="server")
        yield Static("Pairing code", classes="label")
        yield Input(placeholder="e.g. K7Q2-M9XA", id="code")
        yield Static("Name for this terminal", classes="label")
        yield Input(socket.gethostname()[:40], id="name")
        yield Static("Or the owner's account (the first till)", classes="label")
        with Horizontal(id="pair-account"):
            yield Input(placeholder="owner's email", id="pair-email")
            yield Input(placeholder="password", password=True, id="pair-password")
        yield Static(  # markup=False: the server's reasons show as they are written
            "Enter in the code field, or in the password, pairs.", id="prompt", markup=False
        )
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#server" if not self.server_url else "#code", Input).focus()

    def take_code(self, code: str) -> None:
        """A pairing code scanned from the owner's screen (its QR says TPPAIR:CODE)."""
        text = pairing_code(code)
        if text is not None:
            self.query_one("#code", Input).value = text
            self._pair()

    @on(Input.Submitted)
    def submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "code":
            self._pair()
        elif event.input.id == "pair-password":
            self._pair_with_account()
        else:
            self.focus_next()

    def _pair(self) -> None:
        server = self.query_one("#server", Input).value.strip()
        code = pairing_code(self.query_one("#code", Input).value)
        name = self.query_one("#name", Input).value.strip() or "Till"
        if not server.startswith(("http://", "https://")):
            self._say("The server address starts with http:// or https://: check it.")
            self.query_one("#server", Input).focus()
            return
        if code is None:
            self._say("A pairing code is 8 letters and digits, like K7Q2-M9XA: check it.")
            return
        self._say(f"Pairing with {server}…")
        self.pair_in_background(server, code, name)

    def _pair_with_account(self) -> None:
        server = self.query_one("#server", Input).value.strip()
        email = self.query_one("#pair-email", Input).value.strip()
        password = self.query_one("#pair-password", Input)
        name = self.query_one("#name", Input).value.strip() or "Till"
        if not server.startswith(("http://", "https://")):
            self._say("The server address starts with http:// or https://: check it.")
            self.query_one("#server", Input).focus()
            return
        if not email or not password.value:
            self._say("Type the owner's email and password, then Enter.")
            return
        self._say(f"Signing in to {server} and pairing…")
        self.pair_in_background(server, "", name, (email, password.value))
        password.clear()

    @work(thread=True, exclusive=True, exit_on_error=False, group="pair")
    def pair_in_background(
        self, server: str, code: str, name: str, account: tuple[str, str] | None = None
    ) -> None:
        """Pair with `code`, or with the owner's `account` (email, password) when given."""
        session = tillpoint(self).session
        try:
            if account is None:
                session.pair(server, code, name)
            else:
                session.pair_with_account(server, *account, name)
            synced = session.sync() is not None
        except PairingFailedError as exc:
            self.post_message(self.PairingFailed(str(exc)))
            return
        finally:
            session.release()
        self.post_message(self.Paired(synced))

    def on_pairing_screen_pairing_failed(self, message: PairingFailed) -> None:
        self._say(f"Not paired: {message.reason}")

    def on_pairing_screen_paired(self, message: Paired) -> None:
        if not message.synced:
            self.notify("Paired, but the first sync did not get through: it will retry.")
        self.dismiss(None)

    def _say(self, text: str) -> None:
        self.query_one("#prompt", Static).update(text)
