"""What the routers share: the signed-in user and what they may touch, the Idempotency-Key
header, and answering with an idempotent operation's outcome.

Who may use a route is a dependency of it (`OwnedBusiness`, `ManagedBusiness`,
`StaffBusiness`, `ReportedBusiness`, `CurrentAdmin`, `CurrentCustomer`, `CurrentOwner`):
FastAPI solves a route's dependencies before it validates its path, query and body, and a
dependency's refusal ends the request, so someone who may not use a route is told so (401,
403) whatever the request says, never first what it should say (422). The routes of the
lanes check their caller inside their one thread hop, with everything else they read; they
name that check with `checked_first_in` for the requests that are not valid
(`problems.checked_first`)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Protocol, TypeVar

import anyio.to_thread
from anyio import CapacityLimiter
from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import BindParameter, Executable, Select, and_, bindparam, select
from sqlalchemy.orm import Session, contains_eager

from sync.wire import StaffRole

from .accounts.jwt_tokens import AccessClaims, InvalidAccessToken, TokenSigner
from .accounts.models import Role, User
from .billing.models import Subscription
from .db import SessionDep, in_transaction
from .deals.models import Deal
from .directory.models import Business, StaffMember
from .errors import DomainError, NotAManager
from .problems import MEDIA_TYPE, Endpoint, Problem, checked_first
from .ratelimit import RateLimiter
from .wallet.idempotency import NOT_READ, Outcome, Prior
from .wallet.models import GiftCard, IdempotencyRecord, LedgerAccount
from .wallet.purchase import Sales

__all__ = [
    "PROBLEM_RESPONSES",
    "BearerClaims",
    "Buyer",
    "CurrentAdmin",
    "CurrentCustomer",
    "CurrentOwner",
    "CurrentSession",
    "CurrentUser",
    "IdempotencyKey",
    "IfMatch",
    "ManagedBusiness",
    "OwnedBusiness",
    "ReportedBusiness",
    "SalesDep",
    "StaffBusiness",
    "Till",
    "a_customer",
    "at_the_till",
    "business_for",
    "buyer_for",
    "checked_first_in",
    "in_purchase_lane",
    "in_redemption_lane",
    "owned",
    "reply",
    "report_reader",
    "require_role",
    "till_for",
    "user_of",
    "with_card",
]

log = logging.getLogger("tillpoint.http")
# How long a caller whose check could not run is asked to wait (the database or the shared
# state is reconnecting).
CALLER_CHECK_RETRY_SECONDS = 5

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


def _read_claims(
    request: Request, credentials: HTTPAuthorizationCredentials | None
) -> AccessClaims:
    if credentials is None:
        raise _unauthorized("Sign in first: send 'Authorization: Bearer <access token>'.")
    signer: TokenSigner = request.app.state.token_signer
    try:
        return signer.read(credentials.credentials)
    except InvalidAccessToken as exc:
        raise _unauthorized(str(exc).capitalize() + ".") from None


async def bearer(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> AccessClaims:
    """The access token's claims, checked without I/O (so on the event loop, no thread);
    the deny list and the user are read by `user_of` or `till_for` in the request's
    one worker thread."""
    return _read_claims(request, credentials)


BearerClaims = Annotated[AccessClaims, Depends(bearer)]


def _refuse_ended(
    request: Request, claims: AccessClaims, limiter: RateLimiter | None = None
) -> None:
    """401 when the session of `claims` has ended; with `limiter`, the user's attempt is
    counted too (429 past its limit), in the same round trip to the shared state."""
    deny_list = request.app.state.deny_list
    if limiter is None:
        ended = deny_list.refuses(claims)
    else:
        key = f"user:{claims.user_id}"
        ended = limiter.hit_unless(deny_list.keys_of(claims), key, "redemption")
    if ended:
        raise _unauthorized(
            "This session has ended (signed out, or the password changed): sign in again."
        )


def _no_user() -> Problem:
    return _unauthorized("The account no longer exists.")


def user_of(session: Session, request: Request, claims: AccessClaims) -> User:
    """The signed-in user of `claims`, unless their session has ended."""
    _refuse_ended(request, claims)
    user = session.get(User, claims.user_id)
    if user is None:
        raise _no_user()
    return user


def signed_in(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> SignedIn:
    claims = _read_claims(request, credentials)
    return SignedIn(user_of(session, request, claims), claims)


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
        allowed = " or ".join(_a(r.value.replace("_", " ")) for r in roles)
        raise Problem(
            403,
            "forbidden-role",
            "Not allowed",
            f"Only {allowed} can do this; you are signed in as "
            f"{_a(user.role.value.replace('_', ' '))}.",
        )


def _a(noun: str) -> str:
    """The noun with its indefinite article: "an admin", "a customer"."""
    return f"{'an' if noun.startswith(tuple('aeiou')) else 'a'} {noun}"


def _with_role(*roles: Role) -> Callable[[User], Awaitable[User]]:
    async def checked(user: CurrentUser) -> User:  # no I/O: on the event loop
        require_role(user, *roles)
        return user

    return checked


CurrentAdmin = Annotated[User, Depends(_with_role(Role.ADMIN))]
"""The signed-in user, if an admin; else 403 `forbidden-role`."""
CurrentCustomer = Annotated[User, Depends(_with_role(Role.CUSTOMER))]
"""The signed-in user, if a customer; else 403 `forbidden-role`."""
CurrentOwner = Annotated[User, Depends(_with_role(Role.VENDOR_OWNER))]
"""The signed-in user, if a vendor who owns businesses; else 403 `forbidden-role`."""


def _make_me_a_manager(business_id: str, user_id: str) -> str:
    """What a staff account refused as not a manager is told to ask for: the one call that
    makes a manager, at once in the API, the reports and the tills."""
    return (
        "ask the owner to make you a manager: "
        f'PATCH /api/v1/businesses/{business_id}/staff/{user_id} {{"role": "manager"}}'
    )


def _business_and_role(
    session: Session, user: User, business_id: str
) -> tuple[Business | None, StaffRole | None]:
    """The business and the user's role there (their staff account's: one role, the same at
    the tills), in one query: a till asks on every sale."""
    found = session.execute(
        select(Business, StaffMember.role)
        .outerjoin(
            StaffMember,
            and_(StaffMember.business_id == Business.id, StaffMember.user_id == user.id),
        )
        .where(Business.id == business_id)
    ).first()
    return (None, None) if found is None else (found[0], found[1])


def business_for(
    session: SessionDep, user: User, business_id: str, *, staff: bool, managers: bool = False
) -> Business:
    """The business, if `user` owns it (or works there, when `staff`; or manages it, when
    `managers`), else 403/404."""
    business, works_as = _business_and_role(session, user, business_id)
    return _allowed(user, business, works_as, business_id, staff=staff, managers=managers)


def _owned_business(business_id: str, user: CurrentUser, session: SessionDep) -> Business:
    return business_for(session, user, business_id, staff=False)


def _managed_business(business_id: str, user: CurrentUser, session: SessionDep) -> Business:
    return business_for(session, user, business_id, staff=False, managers=True)


def _staff_business(business_id: str, user: CurrentUser, session: SessionDep) -> Business:
    return business_for(session, user, business_id, staff=True)


OwnedBusiness = Annotated[Business, Depends(_owned_business)]
"""The path's business, for its owner (and admins): its staff 403 `owner-only`."""
ManagedBusiness = Annotated[Business, Depends(_managed_business)]
"""The path's business, for its owner, its managers (and admins): a cashier 403
`manager-only`."""
StaffBusiness = Annotated[Business, Depends(_staff_business)]
"""The path's business, for its owner, anyone who works there (and admins)."""


def report_reader(session: SessionDep, user: User, business_id: str) -> Business:
    """The business, if `user` may read its reports: its owner, one of its managers (the
    staff role of `PATCH …/staff`, which a till PIN's role sets too), or an admin.
    `NotAManager` for its cashiers; 403/404 as `business_for` for anyone else."""
    business, works_as = _business_and_role(session, user, business_id)
    found = _allowed(user, business, works_as, business_id, staff=True)
    if user.role is Role.VENDOR_STAFF and (works_as is None or not works_as.manages):
        raise NotAManager(
            "Reports are for the business's owner and managers: "
            f"{_make_me_a_manager(found.id, user.id)}, or to send you the report."
        )
    return found


def _reported_business(business_id: str, user: CurrentUser, session: SessionDep) -> Business:
    return report_reader(session, user, business_id)


ReportedBusiness = Annotated[Business, Depends(_reported_business)]
"""The path's business, for those who read its reports (`report_reader`)."""


def _allowed(
    user: User,
    business: Business | None,
    works_as: StaffRole | None,
    business_id: str,
    *,
    staff: bool,
    managers: bool = False,
) -> Business:
    if business is None:
        raise Problem(
            404, "business-not-found", "No such business", f"There is no business {business_id!r}."
        )
    if user.role is Role.ADMIN or (user.role is Role.VENDOR_OWNER and business.owner_id == user.id):
        return business
    if user.role is Role.VENDOR_STAFF and works_as is not None:
        if staff or (managers and works_as.manages):
            return business
        if managers:
            raise Problem(
                403,
                "manager-only",
                "Not allowed",
                "Only the business's owner or a manager can do this: "
                + _make_me_a_manager(business.id, user.id),
            )
        raise Problem(
            403,
            "owner-only",
            "Not allowed",
            "Only the business's owner can do this: ask the owner to do it.",
        )
    raise Problem(
        403,
        "not-your-business",
        "Not allowed",
        "This business is not yours: sign in with an account of this business.",
    )


@dataclass(frozen=True)
class Till:
    """Who is at a business's till, the business, what their Idempotency-Key already
    answered (`Prior`) and, when asked for, the gift card presented (None if there is
    none). The card is kept here because a session holds what it loaded only while
    something else refers to it."""

    user: User
    business: Business
    prior: Prior
    card: GiftCard | None = None


def _till_query(*, card: bool) -> Executable:
    """`till_for`'s one query, built once: its values are parameters."""
    query = (
        select(User, Business, StaffMember.role, IdempotencyRecord)
        .select_from(User)
        .outerjoin(Business, Business.id == bindparam("business_id"))
        .outerjoin(
            StaffMember,
            and_(StaffMember.business_id == Business.id, StaffMember.user_id == User.id),
        )
        .outerjoin(
            IdempotencyRecord,
            and_(IdempotencyRecord.scope == User.id, IdempotencyRecord.key == bindparam("key")),
        )
        .where(User.id == bindparam("user_id"))
    )
    return with_card(query, bindparam("card_id")) if card else query


def till_for(
    session: Session,
    request: Request,
    claims: AccessClaims,
    business_id: str,
    idempotency_key: str | None,
    *,
    staff: bool = True,
    card_id: str | None = None,
    limiter: RateLimiter | None = None,
) -> Till:
    """`user_of` and `business_for` and the key's stored answer, in one query: a till asks
    all three on every sale. With `card_id`, that gift card and its ledger account are read
    in the same query into the session (whose business it is, the caller checks), so the
    sale's `session.get` of it sends nothing. With `limiter`, the user's redemption is
    counted against it while their session is checked (`_refuse_ended`)."""
    _refuse_ended(request, claims, limiter)
    query = _TILL_WITH_CARD if card_id is not None else _TILL
    found = session.execute(
        query,
        {
            "user_id": claims.user_id,
            "business_id": business_id,
            "key": idempotency_key,
            "card_id": card_id,
        },
    ).first()
    if found is None:
        raise _no_user()
    user, business, works_as, record = found[:4]
    return Till(
        user,
        _allowed(user, business, works_as, business_id, staff=staff),
        record if idempotency_key else NOT_READ,
        found._mapping[GiftCard] if card_id is not None else None,
    )


def with_card(
    query: Select[*tuple[Any, ...]], card_id: str | BindParameter[str]
) -> Select[*tuple[Any, ...]]:
    """`query` with the gift card `card_id` (a last column, None when there is none) and
    its ledger account loaded into the session: a sale's `session.get` of the card then
    sends nothing."""
    return (
        query.add_columns(GiftCard)
        .outerjoin(GiftCard, GiftCard.id == card_id)
        .outerjoin(LedgerAccount, LedgerAccount.id == GiftCard.account_id)
        .options(contains_eager(GiftCard.account))
    )


_TILL, _TILL_WITH_CARD = _till_query(card=False), _till_query(card=True)


@dataclass(frozen=True)
class Buyer:
    """Who is buying from a business, the business (None if there is none), what their
    Idempotency-Key already answered (`Prior`), the business's subscription and, when
    asked for, the deal bought from (None if there is none). All but the user and the
    prior are kept here so that the session, which holds what it loaded only while
    something else refers to it, answers the sale's `session.get` of them (checking that
    the business may sell) without a query."""

    user: User
    business: Business | None
    prior: Prior
    subscription: Subscription | None
    deal: Deal | None = None


def _buyer_query(*, deal: bool) -> Executable:
    """`buyer_for`'s one query, built once: its values are parameters. With `deal`, the
    business is the deal's."""
    query = select(User, Business, Subscription, IdempotencyRecord).select_from(User)
    if deal:
        query = (
            query.add_columns(Deal)
            .outerjoin(Deal, Deal.id == bindparam("deal_id"))
            .outerjoin(Business, Business.id == Deal.business_id)
        )
    else:
        query = query.outerjoin(Business, Business.id == bindparam("business_id"))
    return (
        query.outerjoin(Subscription, Subscription.business_id == Business.id)
        .outerjoin(
            IdempotencyRecord,
            and_(IdempotencyRecord.scope == User.id, IdempotencyRecord.key == bindparam("key")),
        )
        .where(User.id == bindparam("user_id"))
    )


_BUYER, _BUYER_OF_A_DEAL = _buyer_query(deal=False), _buyer_query(deal=True)


def buyer_for(
    session: Session,
    request: Request,
    claims: AccessClaims,
    idempotency_key: str | None,
    *,
    business_id: str | None = None,
    deal_id: str | None = None,
) -> Buyer:
    """`user_of`, the business (or the deal and its business) and its subscription, and
    the key's stored answer, in one query: what every purchase reads before it sells."""
    _refuse_ended(request, claims)
    found = session.execute(
        _BUYER_OF_A_DEAL if deal_id is not None else _BUYER,
        {
            "user_id": claims.user_id,
            "business_id": business_id,
            "deal_id": deal_id,
            "key": idempotency_key,
        },
    ).first()
    if found is None:
        raise _no_user()
    user, business, subscription, record = found[:4]
    prior = record if idempotency_key else NOT_READ
    return Buyer(user, business, prior, subscription, found[4] if deal_id is not None else None)


Work = TypeVar("Work")


async def in_purchase_lane(request: Request, work: Callable[[Session], Work]) -> Work:
    """Run `work` with a session of its own in one worker thread (the whole request's
    database work in one hop, not one per dependency), once more if the connection to the
    database was lost on the way. For a purchase: idempotent (see `db.in_transaction`),
    and it waits on the payment provider as well as the database. Purchases take turns,
    `purchase_threads` at a time in this process: 40 threads side by side (Starlette's
    pool) took turns on the interpreter's lock, and the last of 64 purchases waited three
    times the mean (docs/benchmarks.md); and a provider that stops answering holds up
    purchases only, not the pool every other request uses."""
    return await _in_lane(request, request.app.state.purchase_lane, work)


async def in_redemption_lane(request: Request, work: Callable[[Session], Work]) -> Work:
    """`in_purchase_lane`, for a redemption: work that only talks to the database, a few
    short statements. Redemptions take turns, `redemption_threads` at a time in this
    process (one by default), rather than each in a thread of its own: threads that run
    Python side by side take turns on the interpreter's lock, and every turn costs system
    calls (measured: 9.8 ms of CPU a redemption with 40 threads, 6.8 with one, at the same
    rate; docs/benchmarks.md). The event loop is not held: other requests go on."""
    return await _in_lane(request, request.app.state.redemption_lane, work)


async def _in_lane(
    request: Request, lane: CapacityLimiter, work: Callable[[Session], Work]
) -> Work:
    task = functools.partial(in_transaction, request.app.state.sessions, work)
    return await anyio.to_thread.run_sync(task, limiter=lane)


CallerCheck = Callable[[Session, Request, HTTPAuthorizationCredentials | None], object]
"""What a lane's route checks of its caller in its work, given a session, the request, and
the bearer credentials its `Authorization` header carries as `bearer` reads them (FastAPI's
`HTTPBearer`; None when it carries none)."""


def checked_first_in(check: CallerCheck) -> Callable[[Endpoint], Endpoint]:
    """`problems.checked_first` for a route that checks its caller in its work with
    `check`: a request that is not valid runs that check first, in a worker thread with a
    session of its own (once more if the connection to the database was lost, as the
    route's work would be). Valid requests pay nothing for it. A check that cannot run
    (the database or the shared state unreachable) answers 503 with Retry-After: what is
    wrong with the request is not said to a caller who may not be allowed to hear it."""

    async def run(request: Request) -> None:
        credentials = await _bearer(request)

        def in_a_session(session: Session) -> object:
            return check(session, request, credentials)

        task = functools.partial(in_transaction, request.app.state.sessions, in_a_session)
        try:
            await anyio.to_thread.run_sync(task)
        except (Problem, DomainError):
            raise
        except Exception:
            log.warning("the caller of an invalid request could not be checked", exc_info=True)
            raise Problem(
                503,
                "caller-not-checked",
                "Could not check who is asking",
                "The server could not check who is asking just now: try again in a moment.",
                headers={"Retry-After": str(CALLER_CHECK_RETRY_SECONDS)},
            ) from None

    return checked_first(run)


def at_the_till(
    session: Session, request: Request, credentials: HTTPAuthorizationCredentials | None
) -> None:
    """What `till_for` checks of the caller at the till of the path's business."""
    claims = _read_claims(request, credentials)
    till_for(session, request, claims, request.path_params["business_id"], None)


def a_customer(
    session: Session, request: Request, credentials: HTTPAuthorizationCredentials | None
) -> None:
    """What a customer's purchase checks of the caller (`buyer_for`, then the role)."""
    require_role(user_of(session, request, _read_claims(request, credentials)), Role.CUSTOMER)


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
IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description='the ETag the GET answered (e.g. "3"): the change applies only if the '
        "thing has not changed since (else 412); leave it out to change it regardless",
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


async def _sales(request: Request) -> Sales:  # no thread hop: it only reads app state
    state = request.app.state
    return Sales(state.gateway, state.keyring, state.money_limits)


SalesDep = Annotated[Sales, Depends(_sales)]
"""What selling a card needs: the app's payment gateway, issuer keys and money limits."""
