"""Operators' accounts: `tillpoint server create-admin` makes one, or promotes a customer.

An admin must use two-step sign-in (mfa.py). The command cannot read a code from a phone, so
it starts the enrolment itself and hands the operator the secret; the first sign-in to the
console with a code from the app turns two-step sign-in on. The operator who runs the command
on the server vouches for the address, so it counts as confirmed (setting up needs that).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from ..errors import AdminNeedsOwnAccount
from . import mfa, repository, service
from .models import Role, User
from .passwords import Passwords

__all__ = ["AdminSetup", "create_or_promote"]


@dataclass(frozen=True, slots=True)
class AdminSetup:
    user: User
    created: bool
    enrolment: mfa.Enrolment | None  # None when two-step sign-in is on already


def create_or_promote(
    session: Session, email: str, password: str | None, passwords: Passwords, now: datetime
) -> AdminSetup:
    """A new admin with `password`, or the customer with that email made admin (their
    password kept). A vendor's account stays a vendor's: an account has one role."""
    user = repository.find_user_by_email(session, email)
    created = user is None
    if user is None:
        if password is None:
            raise AdminNeedsOwnAccount(f"{email} has no account yet: give it a password.")
        user = service.sign_up(session, email, password, Role.ADMIN, passwords)
    elif user.deleted_at is not None:
        raise AdminNeedsOwnAccount(f"{email} belonged to a deleted account: use another email.")
    elif user.role in (Role.VENDOR_OWNER, Role.VENDOR_STAFF):
        raise AdminNeedsOwnAccount(
            f"{email} is a vendor's account ({user.role.value}), and an account has one "
            "role: give the admin an email of their own."
        )
    user.role = Role.ADMIN
    if user.email_verified_at is None:
        user.email_verified_at = now
    enrolment = mfa.start(session, user) if user.mfa_enabled_at is None else None
    session.flush()
    return AdminSetup(user, created, enrolment)
