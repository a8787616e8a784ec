"""Signing in to the web console: email, password and a code from the authenticator app,
all in one form — for admins only. The first code of an admin whose two-step sign-in
`create-admin` started turns it on (and gives the recovery codes, shown once)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from ..accounts import mfa, repository
from ..accounts.models import Role, User
from ..accounts.passwords import Passwords
from ..accounts.sessions import LoginThrottle
from ..errors import ConsoleSignInRefused, MfaCodeWrong

__all__ = ["Passed", "check_admin"]

WRONG = "The email, password or code is wrong: check them and try again."


@dataclass(frozen=True, slots=True)
class Passed:
    user: User
    recovery_codes: list[str]  # only when this sign-in turned two-step sign-in on


def check_admin(
    session: Session,
    passwords: Passwords,
    throttle: LoginThrottle,
    keys: tuple[str, ...],
    email: str,
    password: str,
    code: str,
    now: datetime,
) -> Passed:
    """The admin these credentials prove, or ConsoleSignInRefused (wrong tries count in
    the sign-in throttle, as the API's do; `throttle.check` is the caller's, first)."""
    user = repository.find_user_by_email(session, email)
    if not passwords.verify(user.password_hash if user else None, password) or user is None:
        throttle.failed(*keys)
        raise ConsoleSignInRefused(WRONG)
    if user.role is not Role.ADMIN or user.deleted_at is not None:
        raise ConsoleSignInRefused(
            "This console is for Tillpoint's operators. Customers and vendors use the app "
            "or the till; an operator asks for an admin account (`tillpoint server "
            "create-admin`)."
        )
    typed = code.strip().replace(" ", "")
    recovery_codes: list[str] = []
    if user.mfa_enabled_at is not None:
        recovery = None if typed.isdigit() else typed  # an app's codes are digits only
        app_code = typed if recovery is None else None
        passed = mfa.check(session, user, now, code=app_code, recovery_code=recovery)
    elif user.mfa_secret is not None:
        try:
            recovery_codes = mfa.confirm(session, user, typed, now)
            passed = True
        except MfaCodeWrong:
            passed = False
    else:
        raise ConsoleSignInRefused(
            "Two-step sign-in is not set up for this account: on the server, run `tillpoint "
            f"server create-admin {user.email}` for a secret to add to an authenticator app."
        )
    if not passed:
        session.rollback()
        throttle.failed(*keys)
        raise ConsoleSignInRefused(WRONG)
    throttle.succeeded(*keys)
    return Passed(user, recovery_codes)
