"""Emailed one-time codes: confirming an address, and resetting a forgotten password.

Each code is 12 random characters (59 bits), emailed as itself and inside a link; only its
hash is stored, it works once (a conditional update), for a while (`VERIFY_LIFETIME`,
`RESET_LIFETIME`), and sending a new one retires the older ones. Asking for a reset never
tells whether the email has an account: the answer is the same, and the work nearly so —
a code is made and hashed either way, and the mail leaves later, from the outbox.

The emailed links open the app (`TILLPOINT_APP_URL`) when it has an address, else this
server's own pages under `PAGES_PATH` (`server.web.account_pages`), which work in any browser.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

from sqlalchemy.orm import Session

from ..errors import CodeNotValid, EmailAlreadyVerified
from ..ids import make_id
from ..notifications import templates
from ..notifications.models import NotificationKind
from ..notifications.outbox import Outbox
from . import repository
from .codes import hash_code, new_account_code
from .models import CodePurpose, User
from .passwords import Passwords

__all__ = [
    "CODE_TRIES_PER_MINUTE",
    "PAGES_PATH",
    "RESET_LIFETIME",
    "RESET_PAGE",
    "VERIFY_LIFETIME",
    "VERIFY_PAGE",
    "Links",
    "PasswordReset",
    "request_reset",
    "reset_password",
    "send_verification",
    "take_reset_code",
    "verify_email",
]

VERIFY_LIFETIME = timedelta(hours=48)
RESET_LIFETIME = timedelta(minutes=30)
CODE_TRIES_PER_MINUTE = 10  # emailed codes one network address may try


# The server's own pages the links open when there is no app address.
PAGES_PATH = "/account"
VERIFY_PAGE = "verify-email"
RESET_PAGE = "reset-password"


@dataclass(frozen=True, slots=True)
class Links:
    """Where emailed links point: the app's address when one is set (`app_url`: a universal
    link opens the app on the right screen with the code filled in); else this server's
    pages (`server_url`, the public address), where a browser confirms or resets."""

    app_url: str
    server_url: str

    def verify(self, code: str) -> str:
        return self._link(VERIFY_PAGE, code)

    def reset(self, code: str) -> str:
        return self._link(RESET_PAGE, code)

    def _link(self, page: str, code: str) -> str:
        app = self.app_url.strip()
        base = app.rstrip("/") if app else f"{self.server_url.rstrip('/')}{PAGES_PATH}"
        return f"{base}/{page}?code={quote(code)}"


@dataclass(frozen=True, slots=True)
class PasswordReset:
    """A password set with a reset code: the account, and the sessions (refresh families)
    it ended, whose access tokens the caller denies once this is committed."""

    user: User
    ended: list[str]


def send_verification(
    session: Session, user: User, outbox: Outbox, links: Links, now: datetime
) -> None:
    """Email a new code that confirms the address (older ones stop working)."""
    if user.email_verified_at is not None:
        raise EmailAlreadyVerified(f"{user.email} is confirmed already: nothing to do.")
    repository.retire_codes(session, user.id, CodePurpose.VERIFY_EMAIL, now)
    code = new_account_code()
    row = repository.add_code(
        session, user, CodePurpose.VERIFY_EMAIL, hash_code(code), now + VERIFY_LIFETIME
    )
    hours = int(VERIFY_LIFETIME.total_seconds() // 3600)
    message = templates.email_verification(code, links.verify(code), hours)
    outbox.write(session, user, NotificationKind.EMAIL_VERIFICATION, row.id, message)


def verify_email(session: Session, code: str, now: datetime) -> User:
    """Confirm the address the code was sent to."""
    row = repository.take_code(session, hash_code(code), CodePurpose.VERIFY_EMAIL, now)
    user = session.get(User, row.user_id) if row is not None else None
    if user is None or user.deleted_at is not None:
        raise CodeNotValid(
            "That code is wrong, used or expired: ask for a new one in the app (Account, "
            "Confirm email)."
        )
    if user.email_verified_at is None:
        user.email_verified_at = now
    return user


def request_reset(
    session: Session, email: str, outbox: Outbox, links: Links, now: datetime
) -> None:
    """Email a reset code to the account of `email`, if there is one; silently nothing
    otherwise."""
    code = new_account_code()
    code_hash = hash_code(code)
    user = repository.find_user_by_email(session, email)
    if user is None or user.deleted_at is not None:
        return
    repository.retire_codes(session, user.id, CodePurpose.RESET_PASSWORD, now)
    row = repository.add_code(
        session, user, CodePurpose.RESET_PASSWORD, code_hash, now + RESET_LIFETIME
    )
    minutes = int(RESET_LIFETIME.total_seconds() // 60)
    message = templates.password_reset(code, links.reset(code), minutes)
    outbox.write(session, user, NotificationKind.PASSWORD_RESET, row.id, message)


def take_reset_code(session: Session, code: str, now: datetime) -> User:
    """The account whose reset the code is for, the code used up (and any other reset code
    of the account retired). The email is confirmed on the way: the code came to it."""
    row = repository.take_code(session, hash_code(code), CodePurpose.RESET_PASSWORD, now)
    user = session.get(User, row.user_id) if row is not None else None
    if user is None or user.deleted_at is not None:
        raise CodeNotValid(
            "That reset code is wrong, used or expired: ask for a new one (Forgot password)."
        )
    repository.retire_codes(session, user.id, CodePurpose.RESET_PASSWORD, now)
    if user.email_verified_at is None:
        user.email_verified_at = now
    return user


def reset_password(
    session: Session,
    code: str,
    new_password: str,
    passwords: Passwords,
    outbox: Outbox,
    now: datetime,
) -> PasswordReset:
    """Set the password of the account the reset code is for (the code used up; the
    password checked by the caller against the API's rules, `ResetConfirm`): every session
    of the account ends, and the account is told (`password_changed`)."""
    user = take_reset_code(session, code, now)
    user.password_hash = passwords.hash(new_password)
    ended = repository.revoke_user_families(session, user.id, now)
    message = templates.password_changed(now)
    outbox.write(session, user, NotificationKind.PASSWORD_CHANGED, make_id(), message)
    return PasswordReset(user, ended)
