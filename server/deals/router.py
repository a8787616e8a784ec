from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from sqlalchemy.orm import Session

from sync.wire import VoucherStatus

from ..accounts.models import Role
from ..billing.subscriptions import require_selling
from ..caching import DETAIL_MAX_AGE, LIST_MAX_AGE, NOT_MODIFIED, cacheable
from ..db import SessionDep
from ..deps import (
    PROBLEM_RESPONSES,
    BearerClaims,
    CurrentUser,
    IdempotencyKey,
    IfMatch,
    ManagedBusiness,
    a_customer,
    at_the_till,
    buyer_for,
    checked_first_in,
    in_purchase_lane,
    in_redemption_lane,
    reply,
    require_role,
    till_for,
)
from ..directory.models import Business
from ..directory.repository import Near
from ..errors import DealNotFound, VoucherNotFound
from ..pages import Paging
from ..payments import PaymentGateway
from ..places import Latitude, Longitude, point
from ..preconditions import if_match, version_etag
from ..wallet.idempotency import Outcome, idempotent
from ..wallet.ledger import Origin
from ..wallet.qr_images import qr_response
from . import service
from .models import Deal, Voucher
from .schemas import (
    DealCreate,
    DealOwned,
    DealOwnedPage,
    DealPage,
    DealPublic,
    DealStatus,
    DealUpdate,
    VoucherIssued,
    VoucherPage,
    VoucherPublic,
    VoucherPurchase,
    VoucherRedemption,
    deal_owned,
    deal_public,
    voucher_public,
)
from .views import count_view

router = APIRouter(tags=["deals"])


def _voucher_issued(request: Request, voucher: Voucher) -> VoucherIssued:
    base = str(request.url_for("voucher_qr_png", voucher_id=voucher.id))
    return VoucherIssued(
        **voucher_public(voucher).model_dump(),
        token=voucher.token,
        qr_png=base,
        qr_svg=base.removesuffix(".png") + ".svg",
    )


@router.post("/businesses/{business_id}/deals", status_code=201, summary="Create a deal")
def create_deal(business: ManagedBusiness, body: DealCreate, session: SessionDep) -> DealPublic:
    now = datetime.now(UTC)
    deal = service.create_deal(session, business, body, now)
    session.commit()
    return deal_public(deal, business, now)


@router.get(
    "/businesses/{business_id}/deals",
    summary="Your deals, in every state",
    description="Newest first. `status`: draft (starts later), active (on sale now), ended, "
    "cancelled; leave it out for all. Every word of `q` must appear in the title or "
    "description, case and accents aside.",
)
def own_deals(
    business: ManagedBusiness,
    session: SessionDep,
    paging: Paging,
    deal_status: Annotated[DealStatus | None, Query(alias="status")] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> DealOwnedPage:
    now = datetime.now(UTC)
    deals, total = service.own_deals(
        session, business, now, deal_status, q, paging.offset, paging.limit
    )
    return DealOwnedPage.of(
        [deal_owned(d, business, now) for d in deals], total, paging.offset, paging.limit
    )


_PRECONDITION_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "If-Match cannot be read (if-match-invalid)"},
    412: {"description": "the deal changed since the ETag sent in If-Match (deal-changed)"},
}


@router.get(
    "/businesses/{business_id}/deals/{deal_id}",
    summary="One of your deals, in whatever state",
    description="Answers the deal's ETag: send it back in `If-Match` with a change, and the "
    "change applies only if the deal has not changed since (a voucher sold counts).",
)
def own_deal(
    business: ManagedBusiness, deal_id: str, session: SessionDep, response: Response
) -> DealOwned:
    deal = service.own_deal(session, business, deal_id)
    response.headers["ETag"] = version_etag(deal.version)
    return deal_owned(deal, business, datetime.now(UTC))


@router.patch(
    "/businesses/{business_id}/deals/{deal_id}",
    summary="Change a deal that is not over",
    description="Send only the fields to change. Vouchers already sold keep the price paid "
    "and their expiry (the deal's end when they were sold); `quantity_limit` cannot go below "
    "the number sold. Your terminals pull the change. With `If-Match` (the ETag of `GET "
    "/businesses/{id}/deals/{deal}`) the change applies only if the deal has not changed "
    "since: 412 `deal-changed` otherwise, and nothing changes. Answers the new ETag.",
    responses={**PROBLEM_RESPONSES, **_PRECONDITION_RESPONSES},
)
def update_deal(
    business: ManagedBusiness,
    deal_id: str,
    body: DealUpdate,
    session: SessionDep,
    response: Response,
    if_match_header: IfMatch = None,
) -> DealOwned:
    precondition = if_match(if_match_header)
    now = datetime.now(UTC)
    deal = service.update_deal(session, business, deal_id, body.changes(), now, precondition)
    session.commit()
    response.headers["ETag"] = version_etag(deal.version)
    return deal_owned(deal, business, now)


@router.delete(
    "/businesses/{business_id}/deals/{deal_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Cancel a deal: no longer sold; vouchers sold stay honoured until they expire",
    description="The deal leaves the deals list at once and no one can buy it again. Every "
    "voucher already sold stays redeemable until it expires (the deal's end), at the till "
    "and online: its holder paid for it. Cancelling it again changes nothing.",
)
def cancel_deal(business: ManagedBusiness, deal_id: str, session: SessionDep) -> None:
    service.cancel_deal(session, business, deal_id, datetime.now(UTC))
    session.commit()


@router.get(
    "/businesses/{business_id}/vouchers",
    summary="Vouchers your deals sold",
    description="Newest first; filter by `deal_id` and by `status` (issued, redeemed …).",
)
def vouchers_sold(
    business: ManagedBusiness,
    session: SessionDep,
    paging: Paging,
    deal_id: Annotated[str | None, Query(max_length=22)] = None,
    voucher_status: Annotated[VoucherStatus | None, Query(alias="status")] = None,
) -> VoucherPage:
    vouchers, total = service.vouchers_sold(
        session, business, deal_id, voucher_status, paging.offset, paging.limit
    )
    return VoucherPage.of([voucher_public(v) for v in vouchers], total, paging.offset, paging.limit)


_CLOCK_FIELDS = {"seconds_left"}  # from ends_at and the clock: not part of the ETag


@router.get(
    "/deals",
    summary="Deals on sale now",
    response_model=DealPage,
    responses=NOT_MODIFIED,
    description="Soonest ending first, or nearest first with `lat`/`lon`. Every word of `q` "
    "must appear in the deal's title or description or its business's name, case and "
    "accents aside. Cacheable: send the ETag back in `If-None-Match` for a 304.",
)
def list_deals(
    request: Request,
    session: SessionDep,
    q: Annotated[str | None, Query(max_length=100, description="words to find")] = None,
    category: Annotated[str | None, Query(max_length=60)] = None,
    lat: Latitude = None,
    lon: Longitude = None,
    radius_km: Annotated[float, Query(gt=0, le=500)] = 10,
    ending_within_hours: Annotated[int | None, Query(ge=1, le=24 * 365)] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Response:
    now = datetime.now(UTC)
    at = point(lat, lon, "for deals anywhere")
    near = None if at is None else Near(*at, radius_km)
    within = None if ending_within_hours is None else ending_within_hours * 3600
    found = service.live_deals(session, now, category, near, within, q)
    page = DealPage.of(
        [
            deal_public(live.deal, live.business, now, live.distance_km)
            for live in found[offset : offset + limit]
        ],
        len(found),
        offset,
        limit,
    )
    return cacheable(request, page, LIST_MAX_AGE, {"items": {"__all__": _CLOCK_FIELDS}})


@router.get(
    "/deals/{deal_id}", summary="One deal", response_model=DealPublic, responses=NOT_MODIFIED
)
def get_deal(deal_id: str, request: Request, session: SessionDep) -> Response:
    deal = session.get(Deal, deal_id)
    business = session.get(Business, deal.business_id) if deal else None
    if deal is None or business is None:
        raise DealNotFound(f"There is no deal {deal_id!r}.")
    now = datetime.now(UTC)
    answer = deal_public(deal, business, now)
    count_view(session, deal.id, now.date())  # the operators' deal effectiveness
    return cacheable(request, answer, DETAIL_MAX_AGE, _CLOCK_FIELDS)


@router.post(
    "/deals/{deal_id}/vouchers",
    status_code=201,
    response_model=VoucherIssued,
    responses={402: {"description": "the payment was declined"}, **PROBLEM_RESPONSES},
    summary="Buy a voucher for a deal",
)
@checked_first_in(a_customer)  # it checks the buyer in its lane, with the rest
async def buy_voucher(
    deal_id: str,
    body: VoucherPurchase,
    request: Request,
    claims: BearerClaims,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    request_body = {"path": request.url.path, **body.model_dump()}
    gateway: PaymentGateway = request.app.state.gateway

    def work(session: Session) -> Outcome:
        buyer = buyer_for(session, request, claims, idempotency_key, deal_id=deal_id)
        user, deal = buyer.user, buyer.deal
        require_role(user, Role.CUSTOMER)
        if deal is None:
            raise DealNotFound(f"There is no deal {deal_id!r}.")
        require_selling(session, deal.business_id)

        def operation() -> Outcome:
            voucher = service.sell_voucher(
                session, gateway, request.app.state.keyring, deal, user.id,
                body.payment.card_number, f"{user.id}:{idempotency_key}",
            )  # fmt: skip
            return 201, _voucher_issued(request, voucher).model_dump(mode="json")

        return idempotent(session, user.id, idempotency_key, request_body, operation, buyer.prior)

    return reply(await in_purchase_lane(request, work))


@router.get("/me/vouchers", summary="Your vouchers, oldest first")
def my_vouchers(
    user: CurrentUser,
    session: SessionDep,
    paging: Paging,
    voucher_status: Annotated[VoucherStatus | None, Query(alias="status")] = None,
) -> VoucherPage:
    vouchers, total = service.vouchers_of(
        session, user.id, voucher_status, paging.offset, paging.limit
    )
    return VoucherPage.of([voucher_public(v) for v in vouchers], total, paging.offset, paging.limit)


def _own_voucher(session: SessionDep, user_id: str, role: Role, voucher_id: str) -> Voucher:
    voucher = session.get(Voucher, voucher_id)
    if voucher is None or (voucher.owner_id != user_id and role is not Role.ADMIN):
        raise VoucherNotFound(f"You have no voucher {voucher_id!r}.")
    return voucher


@router.get(
    "/vouchers/{voucher_id}/qr.png",
    name="voucher_qr_png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
    summary="The voucher's QR code (PNG), for its holder",
)
def voucher_qr_png(voucher_id: str, user: CurrentUser, session: SessionDep) -> Response:
    voucher = _own_voucher(session, user.id, user.role, voucher_id)
    return qr_response(voucher.token, svg=False)


@router.get(
    "/vouchers/{voucher_id}/qr.svg",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}},
    summary="The voucher's QR code (SVG), for its holder",
)
def voucher_qr_svg(voucher_id: str, user: CurrentUser, session: SessionDep) -> Response:
    voucher = _own_voucher(session, user.id, user.role, voucher_id)
    return qr_response(voucher.token, svg=True)


@router.post(
    "/businesses/{business_id}/voucher-redemptions",
    response_model=VoucherPublic,
    responses=PROBLEM_RESPONSES,
    summary="Redeem a voucher at the till, once",
)
@checked_first_in(at_the_till)  # it checks the cashier in its lane, with the rest
async def redeem_voucher(
    business_id: str,
    body: VoucherRedemption,
    request: Request,
    claims: BearerClaims,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    request_body = {"path": request.url.path, **body.model_dump()}

    def work(session: Session) -> Outcome:
        limiter = request.app.state.redeem_limiter
        till = till_for(session, request, claims, business_id, idempotency_key, limiter=limiter)

        def operation() -> Outcome:
            voucher = service.redeem_presented_voucher(
                session,
                request.app.state.keyring,
                till.business,
                body.token,
                body.voucher_id,
                till.user.id,
                Origin(cashier_id=till.user.id),  # a cashier's app: no paired till, no branch
            )
            return 200, voucher_public(voucher).model_dump(mode="json")

        return idempotent(
            session, till.user.id, idempotency_key, request_body, operation, till.prior
        )

    return reply(await in_redemption_lane(request, work))
