"""Signing in to the server's own pages (the operator's console, the gift-card shop): email,
password and, where it is asked for, a code from the authenticator app, all in one form.

Wrong tries count in the API's sign-in throttle, per account and per address; a sign-in that
passes opens an account session as the API's does (`accounts.service.open_signed_in_session`:
screened by the fraud rules, a new device noted and told of). The address is the client's as
`fraud.client.client_of` reads it, the API's: behind a proxy uvicorn trusts
(`FORWARDED_ALLOW_IPS`), the one it forwarded for. What each page lets in (whose accounts,
two-step sign-in required or not) is its own `check`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NoReturn

from fastapi import Request
from sqlalchemy.orm import Session

from ..accounts import mfa, repository
from ..accounts import service as accounts
from ..accounts.models import User
from ..accounts.passwords import Passwords
from ..accounts.sessions import LoginThrottle, Throttled
from ..errors import DomainError
from ..fraud.client import client_of
from ..ids import make_id
from ..ratelimit import seconds, whole_seconds

__all__ = ["Check", "Passed", "Refusal", "SignInForm", "SignedIn", "Tries", "sign_in"]

WRONG = "The email, password or code is wrong: check them and try again."


@dataclass(frozen=True, slots=True)
class SignInForm:
    email: str
    password: str
    code: str


@dataclass(frozen=True, slots=True)
class Passed:
    user: User
    recovery_codes: list[str] = field(default_factory=list)  # when this turned two-step on


@dataclass(frozen=True, slots=True)
class Tries:
    """One sign-in's tries as the throttle counts them, and its page's refusal (a
    `DomainError` of its own, such as `ConsoleSignInRefused`)."""

    session: Session
    passwords: Passwords
    throttle: LoginThrottle
    keys: tuple[str, ...]
    now: datetime
    refused: type[DomainError]

    def account(self, email: str, password: str) -> User:
        """The account whose password this is, or a wrong try."""
        user = repository.find_user_by_email(self.session, email)
        if not self.passwords.verify(user.password_hash if user else None, password) or not user:
            self.wrong()
        return user

    def app_code_passes(self, user: User, code: str) -> bool:
        """Whether `code` is one of the app's (digits only) or an unused recovery code."""
        typed = typed_code(code)
        recovery = None if typed.isdigit() else typed
        app_code = typed if recovery is None else None
        return mfa.check(self.session, user, self.now, code=app_code, recovery_code=recovery)

    def wrong(self) -> NoReturn:
        """A wrong try: undo what checking it wrote (a code taken as used), count it."""
        self.session.rollback()
        self.throttle.failed(*self.keys)
        raise self.refused(WRONG)

    def succeeded(self) -> None:
        self.throttle.succeeded(*self.keys)


Check = Callable[[Tries, SignInForm], Passed]
"""A page's rules for whose sign-in passes: the account, or its refusal."""


@dataclass(frozen=True, slots=True)
class SignedIn:
    user: User
    session_id: str  # the account session it opened (the refresh family)
    recovery_codes: list[str]


@dataclass(frozen=True, slots=True)
class Refusal:
    """The sign-in page again, saying `error`, with `status`."""

    error: str
    status: int


def typed_code(code: str) -> str:
    """A code as the app shows it, with its spaces (`123 456`) or without."""
    return code.strip().replace(" ", "")


def sign_in(
    request: Request,
    session: Session,
    form: SignInForm,
    check: Check,
    refused: type[DomainError],
) -> SignedIn | Refusal:
    """Sign in with `form` if `check` lets it: the session it opened (committed), or what
    to tell the person at the form."""
    client = client_of(request)
    keys = (f"account:{form.email.lower()}", f"address:{client.address}")
    throttle: LoginThrottle = request.app.state.login_throttle
    now = datetime.now(UTC)
    try:
        throttle.check(*keys)
        tries = Tries(session, request.app.state.passwords, throttle, keys, now, refused)
        passed = check(tries, form)
        session_id = accounts.open_signed_in_session(
            session, passed.user, client, make_id(), now, request.app.state.outbox
        )
    except Throttled as exc:
        wait = seconds(whole_seconds(exc.retry_seconds))  # as the API's 429 says it
        return Refusal(f"Too many wrong tries: wait {wait}, then try again.", 429)
    except DomainError as exc:
        return Refusal(exc.detail, exc.status)
    session.commit()
    return SignedIn(passed.user, session_id, passed.recovery_codes)
