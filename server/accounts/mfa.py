"""Two-step sign-in: a TOTP authenticator app, and recovery codes for a lost phone.

Optional for customers, offered to vendors (owners and cashiers), required for admins: an
admin without it gets an enrolment token at sign-in that can only set it up, and cannot turn
it off. Enrolment is two calls: `start` makes a secret (shown as an `otpauth://` URI for a
QR code), `confirm` turns it on once a code from the app matches and answers
`RECOVERY_CODES` recovery codes, shown once, stored hashed, each good once. Setting up
needs a confirmed email: the address is how a locked-out person gets back in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from ..errors import EmailNotVerified, MfaAlreadyOn, MfaCodeWrong, MfaNotStarted, MfaRequired
from . import repository
from .codes import hash_code, new_recovery_code
from .models import Role, User
from .totp import matching_step, new_secret, provisioning_uri

__all__ = [
    "RECOVERY_CODES",
    "Enrolment",
    "check",
    "confirm",
    "new_recovery_codes",
    "required",
    "start",
    "turn_off",
]

RECOVERY_CODES = 10


@dataclass(frozen=True, slots=True)
class Enrolment:
    secret: str
    uri: str


def required(user: User) -> bool:
    return user.role is Role.ADMIN


def start(session: Session, user: User) -> Enrolment:
    """A new secret, waiting for a code that proves the app has it (starting again
    replaces a secret not yet confirmed)."""
    if user.mfa_enabled_at is not None:
        raise MfaAlreadyOn(
            "Two-step sign-in is on already. To move to a new phone, turn it "
            "off and set it up again."
        )
    if user.email_verified_at is None:
        raise EmailNotVerified(
            "Confirm your email before setting up two-step sign-in: it is how you get back "
            "in if you lose your phone. Ask for the email in the app (Account, Confirm email)."
        )
    user.mfa_secret, user.mfa_last_step = new_secret(), None
    return Enrolment(user.mfa_secret, provisioning_uri(user.mfa_secret, user.email))


def _take_code(user: User, code: str, now: datetime) -> bool:
    if user.mfa_secret is None:
        return False
    step = matching_step(user.mfa_secret, code, user.mfa_last_step, now)
    if step is None:
        return False
    user.mfa_last_step = step
    return True


def _fresh_recovery_codes(session: Session, user: User) -> list[str]:
    codes = [new_recovery_code() for _ in range(RECOVERY_CODES)]
    repository.replace_recovery_codes(session, user.id, [hash_code(c) for c in codes])
    return codes


def confirm(session: Session, user: User, code: str, now: datetime) -> list[str]:
    """Turn two-step sign-in on with a code from the app; the recovery codes."""
    if user.mfa_enabled_at is not None:
        raise MfaAlreadyOn("Two-step sign-in is on already.")
    if user.mfa_secret is None:
        raise MfaNotStarted("Start setting up two-step sign-in first (POST /me/mfa).")
    if not _take_code(user, code, now):
        raise MfaCodeWrong(
            "That code does not match: check the phone's time is right and type the code the "
            "app shows now."
        )
    user.mfa_enabled_at = now
    return _fresh_recovery_codes(session, user)


def check(
    session: Session, user: User, now: datetime, *, code: str | None, recovery_code: str | None
) -> bool:
    """Whether the second step passes: a code from the app (each one once), or an unused
    recovery code (then used up)."""
    if user.mfa_enabled_at is None:
        return False
    if code is not None:
        return _take_code(user, code, now)
    if recovery_code is not None:
        return repository.take_recovery_code(session, user.id, hash_code(recovery_code), now)
    return False


def _require_on_and_code(
    session: Session, user: User, now: datetime, code: str | None, recovery_code: str | None
) -> None:
    if user.mfa_enabled_at is None:
        raise MfaNotStarted("Two-step sign-in is not on.")
    if not check(session, user, now, code=code, recovery_code=recovery_code):
        raise MfaCodeWrong("That code is wrong or used: nothing was changed.")


def turn_off(
    session: Session, user: User, now: datetime, *, code: str | None, recovery_code: str | None
) -> None:
    if required(user):
        raise MfaRequired(
            "Admins must keep two-step sign-in on; a recovery code gets you in without the phone."
        )
    _require_on_and_code(session, user, now, code, recovery_code)
    user.mfa_secret = user.mfa_enabled_at = user.mfa_last_step = None
    repository.replace_recovery_codes(session, user.id, [])


def new_recovery_codes(
    session: Session, user: User, now: datetime, *, code: str | None, recovery_code: str | None
) -> list[str]:
    """A fresh set; the old ones stop working."""
    _require_on_and_code(session, user, now, code, recovery_code)
    return _fresh_recovery_codes(session, user)
