"""Signing in to the shop: a customer's email and password (and the app's code when their
two-step sign-in is on), in one form."""

from __future__ import annotations

from ..accounts.models import Role
from ..errors import ShopSignInRefused
from ..web.signin import Passed, SignInForm, Tries

__all__ = ["check_customer"]


def check_customer(tries: Tries, form: SignInForm) -> Passed:
    """The customer the form proves, or ShopSignInRefused."""
    user = tries.account(form.email, form.password)
    if user.role is not Role.CUSTOMER or user.deleted_at is not None:
        raise ShopSignInRefused(
            "The shop's sign-in is for customers' accounts: a business's cards are in the "
            "app or at the till."
        )
    if user.mfa_enabled_at is not None and not tries.app_code_passes(user, form.code):
        tries.wrong()
    tries.succeeded()
    return Passed(user)
