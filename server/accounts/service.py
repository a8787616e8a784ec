"""Accounts' rules beyond reading: a new account, a new cashier. An email has one account,
even when two sign-ups for it arrive at once (the unique index decides; the loser is told)."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..errors import EmailTaken
from . import repository
from .models import Role, User
from .passwords import Passwords

__all__ = ["add_cashier", "sign_up"]


def _taken(email: str) -> EmailTaken:
    return EmailTaken(f"{email} already has an account: sign in, or use another email.")


def sign_up(session: Session, email: str, password: str, role: Role, passwords: Passwords) -> User:
    """A new account; EmailTaken when the email has one (or gets one meanwhile)."""
    if repository.find_user_by_email(session, email) is not None:
        raise _taken(email)  # before hashing: that is the slow part
    password_hash = passwords.hash(password)
    try:
        with session.begin_nested():
            return repository.add_user(session, email, password_hash, role)
    except IntegrityError:
        raise _taken(email) from None


def add_cashier(
    session: Session, business_id: str, email: str, password: str, passwords: Passwords
) -> User:
    """A new cashier account working for the business; EmailTaken as for `sign_up`."""
    cashier = sign_up(session, email, password, Role.VENDOR_STAFF, passwords)
    repository.add_staff(session, cashier, business_id)
    return cashier
