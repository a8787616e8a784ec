"""The owner gives staff their till PINs (F7): who can work the tills, a role and a PIN for
the one picked, Enter saves; Delete clears a PIN. Set on the server with the owner's account
(online), so every till of the business gets it with its next sync."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static

from sync.wire import StaffRole, TillStaffPublic

from ...core.session import OwnerError
from ...core.staff_desk import StaffDesk
from ..base import tillpoint
from ..status import StatusLine

NEEDS_ACCOUNT = (
    "PINs are set on the server with the owner's account: sign out (F4), then sign in with "
    "the owner's email and password."
)


class StaffScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("delete", "clear_pin", "Clear the PIN"),
    ]

    @dataclass
    class Loaded(Message):
        people: list[TillStaffPublic]
        said: str

    @dataclass
    class Failed(Message):
        text: str

    def __init__(self) -> None:
        super().__init__()
        self.people: dict[str, TillStaffPublic] = {}

    def compose(self) -> ComposeResult:
        yield Static("Tillpoint · Staff PINs", id="title")
        yield DataTable(id="staff-table", cursor_type="row")
        yield Static(
            "Pick a person (Enter), then a role (cashier, manager; owner for you), "
            "a PIN of 4 to 8 digits, Enter saves. Delete clears the picked one's PIN.",
            id="explain",
        )
        with Horizontal(id="staff-form"):
            yield Input(placeholder="name at the till", id="staff-name", max_length=40)
            yield Input(placeholder="role", id="staff-role", max_length=10)
            yield Input(
                placeholder="new PIN",
                password=True,
                restrict=r"[0-9]*",
                max_length=8,
                id="staff-pin",
            )
        yield Static("", id="staff-message")
        yield StatusLine()
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns("Name", "Email", "Role", "PIN")

    def on_screen_resume(self) -> None:
        self.reload()

    def say(self, text: str) -> None:
        self.query_one("#staff-message", Static).update(text)

    def _desk(self) -> StaffDesk | None:
        session = tillpoint(self).session
        token = session.owner_token
        if token is None:
            self.say(NEEDS_ACCOUNT)
            return None
        return StaffDesk(session, token)

    def reload(self) -> None:
        desk = self._desk()
        if desk is not None:
            self.say("Loading…")
            self.run_desk(desk, lambda d: None, "")

    @work(thread=True, exclusive=True, exit_on_error=False, group="staff")
    def run_desk(self, desk: StaffDesk, action: Callable[[StaffDesk], None], said: str) -> None:
        """Run one of the desk's changes, then load the list."""
        try:
            action(desk)
            self.post_message(self.Loaded(desk.people(), said))
        except OwnerError as exc:
            self.post_message(self.Failed(f"Not saved: {exc}." if said else f"{exc}."))
        finally:
            desk.session.release()

    def on_staff_screen_failed(self, message: Failed) -> None:
        self.say(message.text)

    def on_staff_screen_loaded(self, message: Loaded) -> None:
        table = self.query_one(DataTable)
        table.clear()
        self.people = {person.id: person for person in message.people}
        for person in message.people:
            role = str(person.role) if person.role else "—"
            table.add_row(
                person.name, person.email, role, "set" if person.has_pin else "none", key=person.id
            )
        self.say(message.said or "Pick a person, then Enter.")
        if message.said:
            tillpoint(self).action_sync_now()  # this till learns of it at once

    def _picked(self) -> TillStaffPublic | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return self.people.get(str(row_key.value))

    @on(DataTable.RowSelected, "#staff-table")
    def person_picked(self) -> None:
        person = self._picked()
        if person is None:
            return
        self.query_one("#staff-name", Input).value = person.name
        self.query_one("#staff-role", Input).value = str(person.role or StaffRole.CASHIER)
        self.query_one("#staff-pin", Input).focus()

    @on(Input.Submitted, "#staff-name")
    @on(Input.Submitted, "#staff-role")
    def next_field(self) -> None:
        self.focus_next()

    @on(Input.Submitted, "#staff-pin")
    def pin_entered(self, event: Input.Submitted) -> None:
        pin = event.value
        event.input.clear()
        person = self._picked()
        desk = self._desk()
        if person is None or desk is None:
            return
        role_text = self.query_one("#staff-role", Input).value.strip().lower()
        try:
            role = StaffRole(role_text)
        except ValueError:
            self.say("The role is cashier, manager or owner: type one of them.")
            return
        name = self.query_one("#staff-name", Input).value.strip() or None
        self.say("Saving…")
        said = f"Saved: {name or person.name} signs in as {role} with the new PIN."
        self.run_desk(desk, lambda d: d.set_pin(person.id, pin, role, name), said)

    def action_clear_pin(self) -> None:
        person = self._picked()
        desk = self._desk()
        if person is None or desk is None:
            return
        if not person.has_pin:
            self.say(f"{person.name} has no PIN to clear.")
            return
        said = f"Cleared: {person.name} can no longer sign in at the tills."
        self.run_desk(desk, lambda d: d.clear_pin(person.id), said)
