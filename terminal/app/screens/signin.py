"""Signing in at the till: pick your name, type your PIN, Enter. The PIN is checked offline
against the hash the owner's setting synced (terminal.core.staff), off the UI thread: the
hash is slow on purpose. The owner may sign in with their account instead (online): the way
in before anyone has a PIN."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets.option_list import Option

from ...core.kinds import in_words
from ...core.session import OwnerError
from ...core.staff import Person, SignInRefusedError, waiting
from ..base import tillpoint
from ..status import StatusLine

NO_ONE = (
    "No one has a till PIN yet: the owner signs in below, or sets PINs for each staff "
    "member (docs/till-staff.md). Until then the till works as itself: F1 scans."
)
WAIT_OVER = "The wait is over: try again. Pick your name, type your PIN, then Enter."


class SignInScreen(Screen[None]):
    AUTO_FOCUS = "#pin"  # typing goes to the PIN from the start; ↑ ↓ pick the name
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "pick(-1)", "Previous name", show=False),
        Binding("down", "pick(1)", "Next name", show=False),
    ]

    @dataclass
    class SignedIn(Message):
        person: Person

    @dataclass
    class Refused(Message):
        text: str
        wrong_pin: bool = False  # a wrong PIN (rather than a try while the till waits)

    def __init__(self) -> None:
        super().__init__()
        self.said = ""  # what the message line says now
        self.wait_lead = ""  # said before the wait while it lasts: "Wrong PIN. "
        self.waiting = False  # the wait after wrong PINs is on screen

    def compose(self) -> ComposeResult:
        yield Static("Tillpoint · Who is at the till?", id="title")
        yield Static("Pick your name (↑ ↓), type your PIN, then Enter.", id="explain")
        yield OptionList(id="people")
        yield Input(
            placeholder="PIN",
            password=True,
            restrict=r"[0-9]*",
            max_length=8,
            id="pin",
        )
        yield Static("", id="signin-message", markup=False)
        yield Static("The owner can also sign in with their account (needs the server):")
        with Horizontal(id="account-sign-in"):
            yield Input(placeholder="owner's email", id="account-email")
            yield Input(placeholder="password", password=True, id="account-password")
        yield StatusLine()
        yield Footer()

    def on_mount(self) -> None:
        self.reload()
        self.show_wait()
        self.set_interval(1.0, self.show_wait)

    def on_screen_resume(self) -> None:
        self.reload()
        self.query_one("#pin", Input).focus()

    def on_screen_suspend(self) -> None:
        """Left: a PIN or password typed and not sent is not there for whoever comes back."""
        self.query_one("#pin", Input).clear()
        self.query_one("#account-password", Input).clear()

    def reload(self) -> None:
        """The names as last synced, by name whatever its case; the one picked stays picked.
        Names are drawn as typed, never as markup. What the message line says stays (a
        refusal, the wait), unless it was that no one has a PIN."""
        people = self.query_one("#people", OptionList)
        picked = self.picked_id()
        people.clear_options()
        staff = sorted(
            tillpoint(self).session.store.staff(), key=lambda s: (s.name.casefold(), s.name, s.id)
        )
        people.add_options(
            [Option(Content(f"{s.name} · {in_words(s.role)}"), id=s.id) for s in staff]
        )
        ids = [s.id for s in staff]
        if ids:
            people.highlighted = ids.index(picked) if picked in ids else 0
            if self.said == NO_ONE:
                self.say("")
        else:
            self.say(NO_ONE)

    def show_wait(self) -> None:
        """While the till waits after wrong PINs (kept in its database, so a restart shows
        it too), how long is left: a right PIN typed meanwhile is not taken, and the
        cashier should know why. Once it is over, that they can try again."""
        session = tillpoint(self).session
        _, until = session.store.sign_in_failures()
        left = timedelta(0) if until is None else until - session.clock()
        if left > timedelta(0):
            self.waiting = True
            self.say(f"{self.wait_lead}{waiting(left)} Even the right PIN waits until then.")
        elif self.waiting:
            self.waiting, self.wait_lead = False, ""
            self.say(WAIT_OVER)

    def picked_id(self) -> str | None:
        people = self.query_one("#people", OptionList)
        if people.highlighted is None or not people.option_count:
            return None
        return people.get_option_at_index(people.highlighted).id

    def action_pick(self, step: int) -> None:
        people = self.query_one("#people", OptionList)
        if people.option_count:
            people.highlighted = ((people.highlighted or 0) + step) % people.option_count

    def say(self, text: str) -> None:
        self.said = text
        self.query_one("#signin-message", Static).update(text)

    @on(OptionList.OptionSelected, "#people")
    def name_picked(self) -> None:
        self.query_one("#pin", Input).focus()

    @on(Input.Submitted, "#pin")
    def pin_entered(self, event: Input.Submitted) -> None:
        pin = event.value
        event.input.clear()
        staff_id = self.picked_id()
        if staff_id is None:
            self.say(NO_ONE)
            return
        if not pin:
            self.say("Type your PIN, then Enter.")
            return
        self.wait_lead = ""
        self.say("Checking…")
        self.check_pin(staff_id, pin)

    @work(thread=True, exclusive=True, exit_on_error=False, group="sign-in")
    def check_pin(self, staff_id: str, pin: str) -> None:
        session = tillpoint(self).session
        try:
            self.post_message(self.SignedIn(session.sign_in(staff_id, pin)))
        except SignInRefusedError as exc:
            self.post_message(self.Refused(str(exc), exc.wrong_pin))
        except Exception as exc:
            # Never leave the till at "Checking…"; the error still ends the worker, for the log.
            self.post_message(
                self.Refused(
                    f"This till could not check the PIN ({type(exc).__name__}): try again."
                )
            )
            raise
        finally:
            session.release()

    @on(Input.Submitted, "#account-email")
    def email_entered(self) -> None:
        self.query_one("#account-password", Input).focus()

    @on(Input.Submitted, "#account-password")
    def password_entered(self) -> None:
        email = self.query_one("#account-email", Input).value.strip()
        password_input = self.query_one("#account-password", Input)
        password = password_input.value
        password_input.clear()
        if not email or not password:
            self.say("Type the owner's email and password, then Enter.")
            return
        self.say("Signing in…")
        self.check_account(email, password)

    @work(thread=True, exclusive=True, exit_on_error=False, group="sign-in")
    def check_account(self, email: str, password: str) -> None:
        session = tillpoint(self).session
        try:
            self.post_message(self.SignedIn(session.sign_in_with_account(email, password)))
        except OwnerError as exc:
            self.post_message(self.Refused(f"Not signed in: {exc}."))
        finally:
            session.release()

    def on_sign_in_screen_refused(self, message: Refused) -> None:
        self.wait_lead = "Wrong PIN. " if message.wrong_pin else ""
        self.say(message.text)
        self.show_wait()  # a wait that this refusal started or that was already running

    def on_sign_in_screen_signed_in(self, message: SignedIn) -> None:
        self.say("")
        tillpoint(self).signed_in(message.person)
