"""Who is at the till: signing in with a PIN checked offline against the synced hash, the
throttle on wrong PINs, and what each role may open.

A cashier scans and sees the history; a manager and the owner also open the vendor and
owner screens. A role a newer server added is none of these: its person cannot sign in at
this till until it is updated (what they may open is never guessed). When no one has a
till PIN yet the till asks no one to sign in (it works as the till itself), but the vendor
screens stay closed until a manager or the owner signs in.
docs/till-staff.md says how this resists guessing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sync.pins import verify_pin
from sync.wire import NewerValue, StaffRole, StaffState

from .store import TerminalStore
from .words import count

__all__ = [
    "FREE_TRIES",
    "MAX_WAIT",
    "Area",
    "Person",
    "SignInRefusedError",
    "may_open",
    "person_named",
    "sign_in",
    "wait_after",
    "waiting",
]

FREE_TRIES = 3  # wrong PINs in a row before the till makes the next one wait
FIRST_WAIT = timedelta(seconds=30)  # then 30 s, 1 min, 2 min, … doubling
MAX_WAIT = timedelta(minutes=15)  # and never more than this between two tries


@dataclass(frozen=True)
class Person:
    """Who is signed in at the till."""

    id: str
    name: str
    role: StaffRole

    @classmethod
    def of(cls, state: StaffState) -> Person:
        """The person `state` names, signed in; SignInRefusedError when their role is one
        this till does not know: what it lets them open is never guessed."""
        if isinstance(state.role, NewerValue):
            raise SignInRefusedError(
                f"{state.name}'s role at this till ({state.role.words}) is newer than this "
                "till knows: update the till.",
                wrong_pin=False,
            )
        return cls(state.id, state.name, state.role)

    @property
    def manages(self) -> bool:
        return self.role.manages


class Area(StrEnum):
    """The parts of the terminal a role may or may not open; values are the app's modes."""

    SCAN = "scan"
    HISTORY = "history"
    VENDOR = "vendor"
    STAFF = "staff"  # giving staff their PINs: the owner's alone


def may_open(area: Area, person: Person | None, anyone_has_pin: bool) -> str | None:
    """None when `person` (None: no one signed in) may open `area`; otherwise why not, in
    words for whoever is at the till."""
    if area is Area.STAFF:
        if person is not None and person.role is StaffRole.OWNER:
            return None
        return "Only the owner gives staff their PINs: the owner signs in (F4)."
    if area is Area.VENDOR:
        if person is not None and person.manages:
            return None
        if person is not None:
            return (
                f"{person.name} is signed in as a cashier: the vendor screens need a manager "
                "or the owner. Ask one to sign in (F4 signs you out)."
            )
        if anyone_has_pin:
            return "The vendor screens need a manager or the owner: sign in first."
        return (
            "The vendor screens need a manager or the owner signed in, and no one has a "
            "till PIN yet: the owner signs in with their account (F4), and gives staff "
            "PINs (docs/till-staff.md)."
        )
    if anyone_has_pin and person is None:
        return "Sign in first: pick your name and type your PIN."
    return None


class SignInRefusedError(Exception):
    """A wrong PIN, or a try while the till waits; the message says what to do."""

    def __init__(
        self, message: str, wait: timedelta | None = None, *, wrong_pin: bool = True
    ) -> None:
        super().__init__(message)
        self.wait = wait  # how long until the next try is taken
        self.wrong_pin = wrong_pin  # False: a try while the till waits, the PIN not looked at


def wait_after(failures: int) -> timedelta:
    """How long the till waits before taking another PIN after `failures` wrong ones in a
    row: nothing for the first FREE_TRIES, then 30 s doubling, at most MAX_WAIT."""
    if failures < FREE_TRIES:
        return timedelta(0)
    doubled: timedelta = FIRST_WAIT * (1 << min(failures - FREE_TRIES, 16))
    return min(doubled, MAX_WAIT)


def _in_words(wait: timedelta) -> str:
    seconds = max(1, math.ceil(wait.total_seconds()))
    if seconds < 60:
        return count(seconds, "second")
    return count(math.ceil(seconds / 60), "minute")


def waiting(left: timedelta) -> str:
    """What the till says while it waits after wrong PINs, `left` before the next try."""
    return f"Too many wrong PINs: this till takes the next try in {_in_words(left)}."


def sign_in(store: TerminalStore, staff_id: str, pin: str, now: datetime) -> Person:
    """The person whose PIN this is; SignInRefusedError when it is not (counted against
    the till's throttle, kept in its database), the till is still waiting, or their role
    is newer than this till knows."""
    member = store.staff_member(staff_id)
    # A role this till does not know is refused before the PIN is looked at: no PIN gets
    # that person in, so none is counted against the throttle.
    person = None if member is None else Person.of(member)
    failures, wait_until = store.sign_in_failures()
    if wait_until is not None and now < wait_until:
        left = wait_until - now
        raise SignInRefusedError(waiting(left), left, wrong_pin=False)
    if member is not None and person is not None and verify_pin(pin, member.pin_hash):
        if failures:
            store.save_sign_in_failures(0, None)
        return person
    failures += 1
    wait = wait_after(failures)
    store.save_sign_in_failures(failures, now + wait if wait else None)
    if wait:
        raise SignInRefusedError(
            f"Wrong PIN. Too many wrong PINs: the next try in {_in_words(wait)}.", wait
        )
    tries = FREE_TRIES - failures
    raise SignInRefusedError(
        f"Wrong PIN: check it and type it again ({count(tries, 'try', 'tries')} before the "
        "till makes you wait)."
    )


def person_named(store: TerminalStore, name_or_id: str) -> Person | None:
    """A synced staff member by id or by name (any case): for the headless till, which
    names its cashier rather than typing a PIN."""
    wanted = name_or_id.strip()
    staff = store.staff()
    found = next((s for s in staff if s.id == wanted), None) or next(
        (s for s in staff if s.name.casefold() == wanted.casefold()), None
    )
    return None if found is None else Person.of(found)
