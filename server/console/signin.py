"""Signing in to the web console: email, password and a code from the authenticator app,
all in one form — for admins only. The first code of an admin whose two-step sign-in
`create-admin` started turns it on (and gives the recovery codes, shown once)."""

from __future__ import annotations

from ..accounts import mfa
from ..accounts.models import Role
from ..errors import ConsoleSignInRefused, MfaCodeWrong
from ..web.signin import Passed, SignInForm, Tries, typed_code

__all__ = ["check_admin"]


def check_admin(tries: Tries, form: SignInForm) -> Passed:
    """The admin the form proves, with two-step sign-in on (this sign-in may turn it on),
    or ConsoleSignInRefused."""
    user = tries.account(form.email, form.password)
    if user.role is not Role.ADMIN or user.deleted_at is not None:
        raise ConsoleSignInRefused(
            "This console is for Tillpoint's operators. Customers and vendors use the app "
            "or the till; an operator asks for an admin account (made on the server with "
            "“tillpoint server create-admin”)."
        )
    recovery_codes: list[str] = []
    if user.mfa_enabled_at is not None:
        if not tries.app_code_passes(user, form.code):
            tries.wrong()
    elif user.mfa_secret is not None:
        try:
            recovery_codes = mfa.confirm(tries.session, user, typed_code(form.code), tries.now)
        except MfaCodeWrong:
            tries.wrong()
    else:
        raise ConsoleSignInRefused(
            "Two-step sign-in is not set up for this account: on the server, run “tillpoint "
            f"server create-admin {user.email}” for a secret to add to an authenticator app."
        )
    tries.succeeded()
    return Passed(user, recovery_codes)
