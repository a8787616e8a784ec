"""Signing in to the shop: a customer's email and password (and the app's code when their
two-step sign-in is on), in one form. Wrong tries count in the API's sign-in throttle."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from ..accounts import mfa, repository
from ..accounts.models import Role, User
from ..accounts.passwords import Passwords
from ..accounts.sessions import LoginThrottle
from ..errors import ShopSignInRefused

__all__ = ["check_customer"]

WRONG = "The email, password or code is wrong: check them and try again."


def check_customer(
    session: Session,
    passwords: Passwords,
    throttle: LoginThrottle,
    keys: tuple[str, ...],
    email: str,
    password: str,
    code: str,
    now: datetime,
) -> User:
    """The customer these credentials prove, or ShopSignInRefused (`throttle.check` is the
    caller's, first)."""
    user = repository.find_user_by_email(session, email)
    if not passwords.verify(user.password_hash if user else None, password) or user is None:
        throttle.failed(*keys)
        raise ShopSignInRefused(WRONG)
    if user.role is not Role.CUSTOMER or user.deleted_at is not None:
        raise ShopSignInRefused(
            "The shop's sign-in is for customers' accounts: a business's cards are in the "
            "app or at the till."
        )
    if user.mfa_enabled_at is not None:
        typed = code.strip().replace(" ", "")
        recovery = None if typed.isdigit() else typed
        app_code = typed if recovery is None else None
        if not mfa.check(session, user, now, code=app_code, recovery_code=recovery):
            session.rollback()
            throttle.failed(*keys)
            raise ShopSignInRefused(WRONG)
    throttle.succeeded(*keys)
    return user
