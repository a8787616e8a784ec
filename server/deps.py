"""Dependencies shared by the routers: the signed-in user and what they may touch."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .accounts.jwt_tokens import InvalidAccessToken, TokenSigner
from .accounts.models import Role, User
from .db import SessionDep
from .directory.models import Business, StaffMember
from .problems import Problem

__all__ = ["CurrentUser", "business_for", "require_role"]

_bearer = HTTPBearer(auto_error=False, description="an access token from /api/v1/auth/login")


def _unauthorized(detail: str) -> Problem:
    return Problem(
        401, "unauthorized", "Not signed in", detail, headers={"WWW-Authenticate": "Bearer"}
    )


def current_user(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    if credentials is None:
        raise _unauthorized("Sign in first: send 'Authorization: Bearer <access token>'.")
    signer: TokenSigner = request.app.state.token_signer
    try:
        claims = signer.read(credentials.credentials)
    except InvalidAccessToken as exc:
        raise _unauthorized(str(exc).capitalize() + ".") from None
    user = session.get(User, claims.user_id)
    if user is None:
        raise _unauthorized("The account no longer exists.")
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def require_role(user: User, *roles: Role) -> None:
    if user.role not in roles:
        allowed = ", ".join(r.value.replace("_", " ") for r in roles)
        raise Problem(
            403,
            "forbidden-role",
            "Not allowed",
            f"Only a {allowed} can do this; you are signed in as a "
            f"{user.role.value.replace('_', ' ')}.",
        )


def business_for(session: SessionDep, user: User, business_id: str, *, staff: bool) -> Business:
    """The business, if `user` owns it (or works there, when `staff`), else 403/404."""
    business = session.get(Business, business_id)
    if business is None:
        raise Problem(
            404, "business-not-found", "No such business", f"There is no business {business_id!r}."
        )
    if user.role is Role.ADMIN or (user.role is Role.VENDOR_OWNER and business.owner_id == user.id):
        return business
    if staff and user.role is Role.VENDOR_STAFF:
        member = session.get(StaffMember, user.id)
        if member is not None and member.business_id == business_id:
            return business
    raise Problem(
        403,
        "not-your-business",
        "Not allowed",
        "This business is not yours: sign in with an account of this business.",
    )
