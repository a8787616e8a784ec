"""The owner gives staff their till PINs (F7): who can work the tills, a role and a PIN for
the one picked, Enter saves; Delete, in the list, clears the PIN of the one under the cursor
after Y. Set on the server with the owner's account (online), so every till of the business
gets it with its next sync.

A save goes to the person picked with Enter, never to whichever row the cursor is on when
Enter is pressed: the form says who that is, and it stays so until another is picked."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static

from sync.wire import NewerValue, StaffRole, TillStaffPublic

from ...core.kinds import in_words
from ...core.session import OwnerError
from ...core.staff_desk import StaffDesk
from ..base import tillpoint
from ..questions import YesOrNo, answers
from ..status import StatusLine

NEEDS_ACCOUNT = (
    "PINs are set on the server with the owner's account: sign out (F4), then sign in with "
    "the owner's email and password."
)
NO_ONE_PICKED = "Pick a person in the list (↑ ↓, then Enter) to set their PIN."


class ConfirmClearPinScreen(YesOrNo):
    """Y clears, N or Esc keeps."""

    BINDINGS: ClassVar[list[BindingType]] = answers("clear it")

    def __init__(self, person: TillStaffPublic) -> None:
        super().__init__(
            f"Clear the till PIN of {person.name} ({person.email})?\n"
            "They can no longer sign in at any till of the business after its next "
            "sync, and are signed out there.\n\nY: clear it    N or Esc: keep it"
        )
        self.person = person


class StaffScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("delete", "clear_pin", "Clear PIN", key_display="Del"),
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
        self.editing_id: str | None = None  # the person picked with Enter: saves go to them
        self.asking = False  # the Y/N question is up: back from it is no new visit

    def compose(self) -> ComposeResult:
        yield Static("Tillpoint · Staff PINs", id="title")
        yield DataTable(id="staff-table", cursor_type="row")
        yield Static(
            "Pick a person (Enter), then a role (cashier, manager; owner for you), "
            "a PIN of 4 to 8 digits, Enter saves. Delete in the list clears a PIN.",
            id="explain",
        )
        yield Static(NO_ONE_PICKED, id="staff-editing", classes="label", markup=False)
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
        yield Static("", id="staff-message", markup=False)
        yield StatusLine()
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns("Name", "Email", "Role", "PIN")

    def on_screen_resume(self) -> None:
        if self.asking:  # its answer loads the list itself, if it changed anything
            self.asking = False
            return
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
        """The list as the server has it now, the cursor on the row it was on."""
        table = self.query_one(DataTable)
        under_cursor = self._under_cursor()
        table.clear()
        self.people = {person.id: person for person in message.people}
        for person in message.people:
            role = in_words(person.role) if person.role else "—"
            table.add_row(
                Text(person.name),  # as typed: a name is never markup
                Text(person.email),
                role,
                "set" if person.has_pin else "none",
                key=person.id,
            )
        if under_cursor is not None and under_cursor.id in self.people:
            table.move_cursor(row=table.get_row_index(under_cursor.id))
        if self.editing_id not in self.people:
            self._edit(None)
        else:
            self._show_editing()
        self.say(message.said or "Pick a person, then Enter.")
        if message.said:
            tillpoint(self).action_sync_now()  # this till learns of it at once

    def _under_cursor(self) -> TillStaffPublic | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return self.people.get(str(row_key.value))

    def _is_owner(self, person: TillStaffPublic) -> bool:
        """The signed-in owner's own account (only the owner opens this screen)."""
        signed_in = tillpoint(self).session.signed_in
        return signed_in is not None and signed_in.id == person.id

    def _edit(self, person: TillStaffPublic | None) -> None:
        """The form is for `person` now (None: for no one)."""
        self.editing_id = None if person is None else person.id
        name = self.query_one("#staff-name", Input)
        role = self.query_one("#staff-role", Input)
        self.query_one("#staff-pin", Input).clear()
        if person is None:
            name.clear()
            role.clear()
        else:
            name.value = person.name
            # The owner is always owner (even where an older server let it be changed).
            owner = self._is_owner(person)
            role.value = str(StaffRole.OWNER if owner else person.role or StaffRole.CASHIER)
        self._show_editing()

    def _show_editing(self) -> None:
        person = self.people.get(self.editing_id) if self.editing_id else None
        self.query_one("#staff-editing", Static).update(
            NO_ONE_PICKED
            if person is None
            else f"Setting the PIN of {person.name} ({person.email}): a new PIN, then Enter."
        )

    @on(DataTable.RowSelected, "#staff-table")
    def person_picked(self) -> None:
        person = self._under_cursor()
        if person is None:
            return
        self._edit(person)
        self.query_one("#staff-pin", Input).focus()

    @on(Input.Submitted, "#staff-name")
    @on(Input.Submitted, "#staff-role")
    def next_field(self) -> None:
        self.focus_next()

    @on(Input.Submitted, "#staff-pin")
    def pin_entered(self, event: Input.Submitted) -> None:
        pin = event.value
        event.input.clear()
        person = self.people.get(self.editing_id) if self.editing_id else None
        if person is None:
            self.say(NO_ONE_PICKED)
            return
        desk = self._desk()
        if desk is None:
            return
        role_text = self.query_one("#staff-role", Input).value.strip().lower()
        try:
            role = StaffRole(role_text)
        except ValueError:
            if isinstance(person.role, NewerValue) and role_text == person.role.lower():
                # A role a newer server added: this till cannot set it, nor keep it unseen.
                self.say(
                    f"This till does not know the role {person.role.words}: type cashier, "
                    "manager or owner, or set this PIN at an updated till."
                )
                return
            self.say("The role is cashier, manager or owner: type one of them.")
            return
        name = self.query_one("#staff-name", Input).value.strip() or None
        self.say("Saving…")
        said = (
            f"Saved: {name or person.name} signs in as {role} with the new PIN. Another PIN "
            "and Enter changes it again; or pick another person."
        )
        user_id = person.id
        self.run_desk(desk, lambda d: d.set_pin(user_id, pin, role, name), said)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Delete clears a PIN from the list only: in a field it deletes a character."""
        if action == "clear_pin":
            tables = self.query(DataTable)
            return self.app.screen is self and bool(tables) and tables.first().has_focus
        return True

    def action_clear_pin(self) -> None:
        person = self._under_cursor()
        if person is None or self._desk() is None:
            return
        if not person.has_pin:
            self.say(f"{person.name} has no PIN to clear.")
            return

        def answered(answer: bool | None) -> None:
            desk = self._desk()
            if answer and desk is not None:
                said = f"Cleared: {person.name} can no longer sign in at the tills."
                self.run_desk(desk, lambda d: d.clear_pin(person.id), said)

        self.asking = True
        self.app.push_screen(ConfirmClearPinScreen(person), answered)
