"""The owner's tills: a pairing code for a new till, shown as text and as a QR code drawn in
the terminal (the new till scans it with its camera or scanner, or the code is typed), the
business's tills with their branch and whether they are online, and revoking one.

A code shows until a new till of its branch appears in the list (the list is asked for
again every few seconds while a code shows) or it expires: it pairs once.

It works as the owner signed in on the Owner tab (that tab's sign-in, online only).

Nothing here is one stray key away: this tab has no text field, so a word typed on it (meant
for the Products tab) would reach its keys. They act only while the list has the focus (the
tab opens on the branch picker when there are branches): N asks before it makes a code (Y
makes it), and Delete, not a letter, revokes the till picked, after Y."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Select, Static, TabbedContent

from ...core import catalogue
from ...core.owner import Device, OwnerDesk, PairingCode
from ...core.qr_text import half_blocks
from ...core.session import OwnerError
from ...core.words import count
from ..base import tillpoint
from ..questions import YesOrNo, answers
from .owner import OwnerPane, cell, reason


def _state(device: Device, now: datetime) -> str:
    if device.revoked:
        return "revoked"
    return "online" if device.online(now) else "offline"


class ConfirmRevokeScreen(YesOrNo):
    """Y revokes, N or Esc keeps."""

    BINDINGS: ClassVar[list[BindingType]] = answers("revoke it")

    def __init__(self, device: Device) -> None:
        super().__init__(
            f"Revoke the till {device.name}?\n"
            "It stops syncing and redeeming online at once, for good; what it approved "
            "offline and has not synced stays on it. To use it again, pair it with a "
            "new code.\n\nY: revoke it    N or Esc: keep it"
        )
        self.device = device


class ConfirmPairingCodeScreen(YesOrNo):
    """Y makes the code, N or Esc does not."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes, make it"),
        Binding("n", "answer(False)", "No"),
        Binding("escape", "answer(False)", "Not now"),
    ]

    def __init__(self, branch: str | None) -> None:
        of = f" of {branch}" if branch else ""
        super().__init__(
            f"Make a pairing code for a new till{of}?\n"
            "Whoever types or scans it within 15 minutes pairs a till with this business "
            "(once): show it to the new till only.\n\nY: make it    N or Esc: not now"
        )
        self.branch = branch


class TillsPane(Vertical):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "new_code", "New pairing code"),
        Binding("delete", "revoke", "Revoke till", key_display="Del"),
    ]
    CODE_CHECK_EVERY = 5.0  # seconds between looks at whether the code shown is used or expired

    @dataclass
    class Listed(Message):
        """The tills as the server has them; `code` is a new pairing code, if one was made.
        `said`: what to say ("" the tills paired; None: leave what is said)."""

        devices: list[Device]
        code: PairingCode | None = None
        said: str | None = ""

    @dataclass
    class Failed(Message):
        text: str

    def __init__(self) -> None:
        super().__init__(id="tills")
        self.devices: dict[str, Device] = {}
        self.code: PairingCode | None = None
        self.known: set[str] = set()  # the tills listed when the code shown was made

    @property
    def checking(self) -> bool:
        """A look at the tills is under way (it answers with `Listed`)."""
        return any(
            w.node is self and w.group == "tills-check" and not w.is_finished for w in self.workers
        )

    def compose(self) -> ComposeResult:
        with Horizontal():
            with Vertical(id="pair-side"):
                yield Static("", id="pair-qr", markup=False)
                yield Static("", id="pair-code", markup=False)
            with Vertical(id="tills-side"):
                yield Static("", id="tills-message", markup=False)
                yield Select[str](
                    [], prompt="Branch of the new till", id="pair-branch", compact=True
                )
                yield DataTable(id="till-table", cursor_type="row")

    def on_mount(self) -> None:
        self.query_one("#till-table", DataTable).add_columns("Till", "Branch", "Last seen", "")
        self.query_one("#pair-qr").display = False
        self.set_interval(self.CODE_CHECK_EVERY, self.check_code)

    def _desk(self) -> OwnerDesk | None:
        return self.screen.query_one(OwnerPane).desk

    def say(self, text: str) -> None:
        self.query_one("#tills-message", Static).update(text)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """N and Delete act from the list only: a deliberate move there (Tab, a click)."""
        if action in ("new_code", "revoke"):
            return self.query_one("#till-table", DataTable).has_focus
        return True

    def show(self) -> None:
        """The tab came up: list the tills, as the signed-in owner. The new till's branch
        is this till's, or the business's only one; with several and none of them this
        till's, N asks which."""
        branches = catalogue.branches(tillpoint(self).session.store)
        select = self.query_one("#pair-branch", Select)
        picked = select.value
        select.set_options([(Text(b.name), b.id) for b in branches])
        ids = [b.id for b in branches]
        here = next((b.id for b in branches if b.here), None)
        if isinstance(picked, str) and picked in ids:
            select.value = picked  # the one picked stays picked
        elif here is not None or len(ids) == 1:
            select.value = here or ids[0]
        select.display = bool(branches)
        desk = self._desk()
        if desk is None:
            self.say(
                "Sign in as the owner in the Owner tab first: pairing and revoking tills "
                "need the owner."
            )
            return
        self.say("Loading the tills…")
        self.run(desk, lambda d: self.Listed(d.devices()))

    @work(thread=True, exclusive=True, exit_on_error=False, group="tills")
    def run(self, desk: OwnerDesk, call: Callable[[OwnerDesk], Message]) -> None:
        try:
            self.post_message(call(desk))
        except OwnerError as exc:
            self.post_message(self.Failed(f"Not done: {reason(exc)}."))
        finally:
            desk.session.release()

    @work(thread=True, exclusive=True, exit_on_error=False, group="tills-check")
    def look(self, desk: OwnerDesk) -> None:
        """The tills again, to see whether one has paired with the code shown; quiet when
        the server cannot say (the next look asks again)."""
        try:
            self.post_message(self.Listed(desk.devices(), None, None))
        except OwnerError:
            pass
        finally:
            desk.session.release()

    def check_code(self) -> None:
        """Every few seconds while a code shows: forget it once expired; else, while the tab
        is in view, ask for the tills (a new one of its branch means it was used)."""
        code = self.code
        if code is None or not self.query("#pair-code"):  # none, or the screen is going
            return
        if tillpoint(self).session.clock() >= code.expires_at:
            self._forget_code()
            self.say(f"The code {code.code} has expired: N makes a new one.")
            return
        desk = self._desk()
        screen = self.screen
        shown = screen.is_current and screen.query_one(TabbedContent).active == "tills-tab"
        if desk is not None and shown and not self.checking:
            self.look(desk)

    def _paired_with_code(self, devices: list[Device]) -> Device | None:
        """A till new since the code shown was made, of the branch the code is for."""
        code = self.code
        if code is None:
            return None
        return next(
            (d for d in devices if d.id not in self.known and d.branch_id == code.branch_id),
            None,
        )

    def _forget_code(self) -> None:
        self.code = None
        self.known = set()
        qr = self.query_one("#pair-qr", Static)
        qr.update("")
        qr.display = False
        self.query_one("#pair-code", Static).update("")

    def on_tills_pane_failed(self, message: Failed) -> None:
        self.say(message.text)

    def on_tills_pane_listed(self, message: Listed) -> None:
        app = tillpoint(self)
        now = app.session.clock()
        pairing = app.session.store.pairing()
        branches = {b.id: b.name for b in catalogue.branches(app.session.store)}
        table = self.query_one("#till-table", DataTable)
        picked = self._picked_id()
        table.clear()
        self.devices = {device.id: device for device in message.devices}
        for device in message.devices:
            last = device.last_seen_at
            seen = f"{last.astimezone():%d %b %H:%M}" if last else "never"
            state = _state(device, now)
            if pairing is not None and device.id == pairing.device_id:
                state += " (this till)"
            branch = branches.get(device.branch_id or "", "—")
            table.add_row(cell(device.name), cell(branch), cell(seen), cell(state), key=device.id)
        if picked in self.devices:  # the cursor stays on the till it was on
            table.move_cursor(row=table.get_row_index(picked))
        if message.code is not None:
            self._show_code(message.code, message.devices)
        elif (used := self._paired_with_code(message.devices)) is not None:
            code = self.code.code if self.code else ""
            self._forget_code()
            self.say(
                f"{used.name} has paired with the code {code}, so it is used up. N makes another."
            )
            return
        if message.said is None:
            return
        active = sum(not d.revoked for d in message.devices)
        self.say(
            message.said
            or f"{count(active, 'till')} paired. In the list (Tab): N, a pairing code for "
            "a new till · Del, revoke the till picked"
        )

    def _picked_id(self) -> str | None:
        """The till the table's cursor is on, if any."""
        table = self.query_one("#till-table", DataTable)
        if not table.row_count:
            return None
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return str(row_key.value)

    def _show_code(self, code: PairingCode, devices: list[Device]) -> None:
        self.code = code
        self.known = {device.id for device in devices}
        qr = self.query_one("#pair-qr", Static)
        qr.update(half_blocks(code.qr_text))
        qr.display = True
        until = code.expires_at.astimezone()
        self.query_one("#pair-code", Static).update(f"Code {code.code}\nuntil {until:%H:%M}")

    def action_new_code(self) -> None:
        """N: which branch the new till serves (asked when not clear), then whether to
        make the code at all (Y makes it)."""
        desk = self._desk()
        if desk is None:
            self.say("Sign in as the owner in the Owner tab first.")
            return
        select = self.query_one("#pair-branch", Select)
        value = select.value
        branch_id = value if isinstance(value, str) else None
        if branch_id is None and select.display:  # the business has branches: which one?
            self.say(
                "Pick the new till's branch first (Branch of the new till), then N in the list."
            )
            select.focus()
            return
        names = {b.id: b.name for b in catalogue.branches(tillpoint(self).session.store)}
        branch = names.get(branch_id or "")

        def answered(answer: bool | None) -> None:
            if answer:
                self._make_code(desk, branch_id)
            else:
                self.say("No pairing code made.")

        self.app.push_screen(ConfirmPairingCodeScreen(branch), answered)

    def _make_code(self, desk: OwnerDesk, branch_id: str | None) -> None:
        self.say("Making a pairing code…")

        def made(d: OwnerDesk) -> Message:
            code = d.pairing_code(branch_id)
            said = (
                f"On the new till: run `tillpoint terminal`, then scan this code or type "
                f"{code.code} (once, within 15 minutes)."
            )
            return self.Listed(d.devices(), code, said)

        self.run(desk, made)

    def action_revoke(self) -> None:
        desk = self._desk()
        table = self.query_one("#till-table", DataTable)
        if desk is None or not table.row_count:
            self.say("No till to revoke: sign in as the owner, and pick a till in the list.")
            return
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        device = self.devices[str(row_key.value)]
        pairing = tillpoint(self).session.store.pairing()
        if device.revoked:
            self.say(f"{device.name} is already revoked.")
            return
        if pairing is not None and device.id == pairing.device_id:
            self.say("That is this till: revoke it from another till.")
            return

        def answered(answer: bool | None) -> None:
            if not answer:
                self.say(f"{device.name} is kept.")
                return

            def revoked(d: OwnerDesk) -> Message:
                d.revoke(device.id)
                said = f"Revoked {device.name}: it can no longer sync or redeem online."
                return self.Listed(d.devices(), None, said)

            self.run(desk, revoked)

        self.app.push_screen(ConfirmRevokeScreen(device), answered)

    @on(Select.Changed, "#pair-branch")
    def branch_picked(self) -> None:
        if (
            self.code is not None
            and self.code.branch_id != self.query_one("#pair-branch", Select).value
        ):
            self.say("N makes a code for this branch (the one shown is for another).")
