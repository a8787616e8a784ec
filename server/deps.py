"""What the routers share: the signed-in user and what they may touch, the Idempotency-Key
header, and answering with an idempotent operation's outcome."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Protocol, TypeVar

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from .accounts.jwt_tokens import AccessClaims, InvalidAccessToken, TokenSigner
from .accounts.models import Role, User
from .db import SessionDep
from .directory.models import Business, StaffMember
from .problems import MEDIA_TYPE, Problem
from .wallet.idempotency import Outcome

__all__ = [
    "PROBLEM_RESPONSES",
    "CurrentSession",
    "CurrentUser",
    "IdempotencyKey",
    "business_for",
    "owned",
    "reply",
    "require_role",
]

_bearer = HTTPBearer(auto_error=False, description="an access token from /api/v1/auth/login")


def _unauthorized(detail: str) -> Problem:
    return Problem(
        401, "unauthorized", "Not signed in", detail, headers={"WWW-Authenticate": "Bearer"}
    )


@dataclass(frozen=True)
class SignedIn:
    """The caller and the access token they came with (its id and session)."""

    user: User
    claims: AccessClaims


def signed_in(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> SignedIn:
    if credentials is None:
        raise _unauthorized("Sign in first: send 'Authorization: Bearer <access token>'.")
    signer: TokenSigner = request.app.state.token_signer
    try:
        claims = signer.read(credentials.credentials)
    except InvalidAccessToken as exc:
        raise _unauthorized(str(exc).capitalize() + ".") from None
    if request.app.state.deny_list.refuses(claims):
        raise _unauthorized(
            "This session has ended (signed out, or the password changed): sign in again."
        )
    user = session.get(User, claims.user_id)
    if user is None:
        raise _unauthorized("The account no longer exists.")
    return SignedIn(user, claims)


def current_user(signed: Annotated[SignedIn, Depends(signed_in)]) -> User:
    return signed.user


def bearer_claims(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> AccessClaims | None:
    """The access token's claims when one was sent and is valid; else None (no refusal)."""
    if credentials is None:
        return None
    try:
        claims: AccessClaims = request.app.state.token_signer.read(credentials.credentials)
    except InvalidAccessToken:
        return None
    return claims


CurrentSession = Annotated[SignedIn, Depends(signed_in)]
CurrentUser = Annotated[User, Depends(current_user)]
OptionalClaims = Annotated[AccessClaims | None, Depends(bearer_claims)]


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
    # One query for the business and whether the user works there: a till asks on every sale.
    found = session.execute(
        select(Business, StaffMember.user_id)
        .outerjoin(
            StaffMember,
            and_(StaffMember.business_id == Business.id, StaffMember.user_id == user.id),
        )
        .where(Business.id == business_id)
    ).first()
    if found is None:
        raise Problem(
            404, "business-not-found", "No such business", f"There is no business {business_id!r}."
        )
    business, works_here = found
    if user.role is Role.ADMIN or (user.role is Role.VENDOR_OWNER and business.owner_id == user.id):
        return business
    if staff and user.role is Role.VENDOR_STAFF and works_here is not None:
        return business
    raise Problem(
        403,
        "not-your-business",
        "Not allowed",
        "This business is not yours: sign in with an account of this business.",
    )


class _OfABusiness(Protocol):
    @property
    def business_id(self) -> str: ...


Item = TypeVar("Item", bound=_OfABusiness)


def owned(
    session: Session, model: type[Item], item_id: str, business_id: str, *, kind: str, noun: str
) -> Item:
    """The business's `model` with that id; a 404 `{kind}-not-found` when there is none, or
    it is another business's (which is not this caller's to know about)."""
    item = session.get(model, item_id)
    if item is None or item.business_id != business_id:
        raise Problem(
            404,
            f"{kind}-not-found",
            f"No such {noun}",
            f"This business has no {noun} with that id.",
        )
    return item


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="a new random value per operation; the same value to retry it",
    ),
]
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    409: {"description": "refused: e.g. insufficient balance, or the key reused"},
    422: {"description": "the request or the scanned code is not valid"},
}


def reply(outcome: Outcome) -> JSONResponse:
    """Answer with an idempotent operation's outcome (first run or replayed)."""
    status, body = outcome
    media = MEDIA_TYPE if status >= 400 else "application/json"
    return JSONResponse(body, status_code=status, media_type=media)
