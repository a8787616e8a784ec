from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.money import Money

from ..accounts.models import Role, User
from ..db import SessionDep, page_of
from ..deps import (
    PROBLEM_RESPONSES,
    BearerClaims,
    CurrentUser,
    IdempotencyKey,
    OwnedBusiness,
    StaffBusiness,
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
from ..directory.models import Business, StaffMember
from ..directory.schemas import MoneyPublic
from ..errors import CardNotFound, HoldNotFound
from ..fraud import service as fraud
from ..fraud.client import client_of
from ..fraud.models import FraudEvent
from ..pages import Paging
from . import cards
from .idempotency import Outcome, idempotent
from .ledger import Origin
from .models import GiftCard, Hold
from .purchase import CardSale, Sales, buy_card, selling_business
from .qr_images import qr_response
from .schemas import (
    CardHistory,
    CardTransferRequest,
    GiftCardIssued,
    GiftCardPage,
    GiftCardPublic,
    GiftCardPurchase,
    HistoryEntry,
    HoldPost,
    HoldPublic,
    HoldRequest,
    RedemptionPublic,
    RedemptionRequest,
    RefundRequest,
    redemption_public,
)

router = APIRouter(tags=["wallet"])


def _money(minor: int, currency: str) -> MoneyPublic:
    return MoneyPublic.of(Money.of(minor, currency))


def _card_public(
    session: SessionDep, card: GiftCard, balance: Money | None = None
) -> GiftCardPublic:
    """The card as its holder sees it; `balance` when the caller knows it (a card just
    issued holds what was paid), else read."""
    return GiftCardPublic(
        id=card.id,
        business_id=card.business_id,
        status=card.status.value,
        balance=MoneyPublic.of(balance or cards.card_balance(session, card)),
        issued_at=card.issued_at,
        expires_at=card.expires_at,
        version=card.version,
    )


def _card_issued(
    request: Request, session: SessionDep, card: GiftCard, balance: Money | None = None
) -> GiftCardIssued:
    base = str(request.url_for("gift_card_qr_png", card_id=card.id))
    return GiftCardIssued(
        **_card_public(session, card, balance).model_dump(),
        token=card.token,
        qr_png=base,
        qr_svg=base.removesuffix(".png") + ".svg",
    )


def _works_for(session: SessionDep, user: User, business_id: str) -> bool:
    if user.role is Role.ADMIN:
        return True
    if user.role is Role.VENDOR_OWNER:
        business = session.get(Business, business_id)
        return business is not None and business.owner_id == user.id
    if user.role is Role.VENDOR_STAFF:
        member = session.get(StaffMember, user.id)
        return member is not None and member.business_id == business_id
    return False


def _card_for(session: SessionDep, user: User, card_id: str, *, holder_only: bool) -> GiftCard:
    """A card its holder may see; its business's staff too unless `holder_only`. Anyone
    else gets 404, so card ids cannot be probed."""
    card = session.get(GiftCard, card_id)
    allowed = card is not None and (
        card.owner_id == user.id
        or user.role is Role.ADMIN
        or (not holder_only and _works_for(session, user, card.business_id))
    )
    if card is None or not allowed:
        raise CardNotFound(f"You have no gift card {card_id!r}: check the id.")
    return card


@router.post(
    "/businesses/{business_id}/gift-cards",
    status_code=201,
    response_model=GiftCardIssued,
    responses={402: {"description": "the payment was declined"}, **PROBLEM_RESPONSES},
    summary="Buy a gift card",
)
@checked_first_in(a_customer)  # it checks the buyer in its lane, with the rest
async def buy_gift_card(
    business_id: str,
    body: GiftCardPurchase,
    request: Request,
    claims: BearerClaims,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    request_body = {"path": request.url.path, **body.model_dump()}
    state = request.app.state
    sales = Sales(state.gateway, state.keyring, state.money_limits)

    def work(session: Session) -> Outcome:
        buyer = buyer_for(session, request, claims, idempotency_key, business_id=business_id)
        user = buyer.user
        require_role(user, Role.CUSTOMER)
        business = selling_business(session, business_id)

        def operation() -> Outcome:
            sale = CardSale(
                amount_minor=body.amount_minor,
                card_number=body.payment.card_number,
                payment_key=f"{user.id}:{idempotency_key}",
                owner_id=user.id,
                customer_id=user.id,
                address=client_of(request).address,
            )
            card = buy_card(session, sales, business, sale)
            balance = Money.of(body.amount_minor, business.currency)
            return 201, _card_issued(request, session, card, balance).model_dump(mode="json")

        return idempotent(session, user.id, idempotency_key, request_body, operation, buyer.prior)

    return reply(await in_purchase_lane(request, work))


@router.get("/me/gift-cards", summary="Your gift cards", description="Oldest first, with balances.")
def my_gift_cards(user: CurrentUser, session: SessionDep, paging: Paging) -> GiftCardPage:
    query = select(GiftCard).where(GiftCard.owner_id == user.id)
    owned, total = page_of(session, query.order_by(GiftCard.issued_at, GiftCard.id), paging)
    items = [_card_public(session, card) for card in owned]
    return GiftCardPage.of(items, total, paging.offset, paging.limit)


@router.get("/gift-cards/{card_id}", summary="A gift card's balance and status")
def gift_card(card_id: str, user: CurrentUser, session: SessionDep) -> GiftCardPublic:
    return _card_public(session, _card_for(session, user, card_id, holder_only=False))


@router.get("/gift-cards/{card_id}/history", summary="Every movement on a gift card")
def gift_card_history(card_id: str, user: CurrentUser, session: SessionDep) -> CardHistory:
    card = _card_for(session, user, card_id, holder_only=False)
    entries = [
        HistoryEntry(
            operation_id=item.operation_id,
            kind=item.kind,
            amount=MoneyPublic.of(item.amount),
            at=item.at,
            memo=item.memo,
        )
        for item in cards.history(session, card)
    ]
    return CardHistory(
        card_id=card.id, balance=MoneyPublic.of(cards.card_balance(session, card)), entries=entries
    )


@router.get(
    "/gift-cards/{card_id}/qr.png",
    name="gift_card_qr_png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
    summary="The card's QR code (PNG), for its holder",
)
def gift_card_qr_png(card_id: str, user: CurrentUser, session: SessionDep) -> Response:
    card = _card_for(session, user, card_id, holder_only=True)
    return qr_response(card.token, svg=False)


@router.get(
    "/gift-cards/{card_id}/qr.svg",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}},
    summary="The card's QR code (SVG), for its holder",
)
def gift_card_qr_svg(card_id: str, user: CurrentUser, session: SessionDep) -> Response:
    card = _card_for(session, user, card_id, holder_only=True)
    return qr_response(card.token, svg=True)


@router.post(
    "/gift-cards/{card_id}/reissue", summary="New code for a lost phone; the old code stops working"
)
def reissue_gift_card(
    card_id: str, request: Request, user: CurrentUser, session: SessionDep
) -> GiftCardIssued:
    card = _card_for(session, user, card_id, holder_only=True)
    cards.reissue(session, request.app.state.keyring, card)
    session.commit()
    return _card_issued(request, session, card)


@router.post(
    "/gift-cards/{card_id}/transfers",
    response_model=RedemptionPublic,
    responses=PROBLEM_RESPONSES,
    summary="Move value to another card of the same business",
)
def transfer(
    card_id: str,
    body: CardTransferRequest,
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    source = _card_for(session, user, card_id, holder_only=True)

    def operation() -> Outcome:
        target = session.get(GiftCard, body.to_card_id)
        if target is None:
            raise CardNotFound(f"There is no gift card {body.to_card_id!r} to move value to.")
        amount = Money.of(body.amount_minor, source.currency)
        fraud.screen(
            session,
            fraud.Activity(
                FraudEvent.TRANSFER,
                business_id=source.business_id,
                card_id=source.id,
                customer_id=user.id,
                address=client_of(request).address,
                amount_minor=amount.minor,
                currency=amount.currency.code,
            ),
        )
        operation_id = cards.transfer_between_cards(
            session, source, target, amount, request.app.state.money_limits
        )
        return 200, RedemptionPublic(
            id=operation_id,
            card_id=source.id,
            amount=MoneyPublic.of(amount),
            balance_after=MoneyPublic.of(cards.card_balance(session, source)),
        ).model_dump(mode="json")

    request_body = {"path": request.url.path, **body.model_dump()}
    return reply(idempotent(session, user.id, idempotency_key, request_body, operation))


@router.post(
    "/businesses/{business_id}/redemptions",
    response_model=RedemptionPublic,
    responses=PROBLEM_RESPONSES,
    summary="Redeem a gift card at the till",
)
@checked_first_in(at_the_till)  # it checks the cashier in its lane, with the rest
async def redeem(
    business_id: str,
    body: RedemptionRequest,
    request: Request,
    claims: BearerClaims,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    request_body = {"path": request.url.path, **body.model_dump()}
    address = client_of(request).address

    def work(session: Session) -> Outcome:
        till = till_for(
            session,
            request,
            claims,
            business_id,
            idempotency_key,
            card_id=body.card_id,
            limiter=request.app.state.redeem_limiter,
        )
        user = till.user

        def operation() -> Outcome:
            redeemed = fraud.redeem_at_till(
                session,
                request.app.state.keyring,
                till.business,
                terminal=f"user:{user.id}",  # a cashier's app is the till
                address=address,
                token=body.token,
                card_id=body.card_id,
                amount_minor=body.amount_minor,
                memo=f"by {user.email}",
                origin=Origin(cashier_id=user.id),  # a cashier's app: no paired till
            )
            return 200, redemption_public(redeemed).model_dump(mode="json")

        return idempotent(session, user.id, idempotency_key, request_body, operation, till.prior)

    return reply(await in_redemption_lane(request, work))


def _hold_public(session: SessionDep, held: Hold) -> dict[str, Any]:
    card = session.get(GiftCard, held.card_id)
    assert card is not None
    return HoldPublic(
        id=held.id,
        card_id=card.id,
        status=held.status.value,
        amount=_money(held.amount_minor, card.currency),
        posted=_money(held.posted_minor, card.currency),
        expires_at=held.expires_at,
        balance_after=MoneyPublic.of(cards.card_balance(session, card)),
    ).model_dump(mode="json")


@router.post(
    "/businesses/{business_id}/holds",
    response_model=HoldPublic,
    status_code=201,
    responses=PROBLEM_RESPONSES,
    summary="Hold an amount on a card (pending), to post or void later",
)
def create_hold(
    business: StaffBusiness,
    body: HoldRequest,
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    request.app.state.redeem_limiter.hit(f"user:{user.id}", "redemption")  # a till's rate

    def operation() -> Outcome:
        card = cards.find_card(
            session, request.app.state.keyring, business, body.token, body.card_id
        )
        expires = datetime.now(UTC) + timedelta(seconds=body.expires_in_seconds)
        amount = Money.of(body.amount_minor, card.currency)
        held = cards.hold(session, card, amount, expires, Origin(cashier_id=user.id))
        return 201, _hold_public(session, held)

    request_body = {"path": request.url.path, **body.model_dump()}
    return reply(idempotent(session, user.id, idempotency_key, request_body, operation))


def _hold_of(session: SessionDep, business: Business, hold_id: str) -> Hold:
    held = session.get(Hold, hold_id)
    card = session.get(GiftCard, held.card_id) if held else None
    if held is None or card is None or card.business_id != business.id:
        raise HoldNotFound(f"This business has no hold {hold_id!r}.")
    if cards.release_if_expired(session, held):
        session.commit()
    return held


@router.post(
    "/businesses/{business_id}/holds/{hold_id}/post",
    response_model=HoldPublic,
    responses=PROBLEM_RESPONSES,
    summary="Take all or part of a held amount",
)
def post_hold(
    business: StaffBusiness,
    hold_id: str,
    body: HoldPost,
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    held = _hold_of(session, business, hold_id)

    def operation() -> Outcome:
        amount = Money.of(body.amount_minor, business.currency)
        cards.post_hold(session, held, amount, Origin(cashier_id=user.id))
        return 200, _hold_public(session, held)

    request_body = {"path": request.url.path, **body.model_dump()}
    return reply(idempotent(session, user.id, idempotency_key, request_body, operation))


@router.post(
    "/businesses/{business_id}/holds/{hold_id}/void",
    response_model=HoldPublic,
    responses=PROBLEM_RESPONSES,
    summary="Release a held amount to the card",
)
def void_hold(
    business: StaffBusiness,
    hold_id: str,
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    held = _hold_of(session, business, hold_id)

    def operation() -> Outcome:
        cards.void_hold(session, held, Origin(cashier_id=user.id))
        return 200, _hold_public(session, held)

    return reply(
        idempotent(session, user.id, idempotency_key, {"path": request.url.path}, operation)
    )


@router.post(
    "/businesses/{business_id}/refunds",
    response_model=RedemptionPublic,
    responses=PROBLEM_RESPONSES,
    summary="Give back onto its card part or all of what a redemption took; owners only",
)
def refund(
    business: OwnedBusiness,
    body: RefundRequest,
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:

    def operation() -> Outcome:
        amount = Money.of(body.amount_minor, business.currency)
        card, operation_id = cards.refund(
            session,
            business,
            body.redemption_id,
            amount,
            body.reason,
            request.app.state.money_limits,
            card_id=body.card_id,
            origin=Origin(cashier_id=user.id),  # the owner who refunded
        )
        return 200, RedemptionPublic(
            id=operation_id,
            card_id=card.id,
            amount=MoneyPublic.of(amount),
            balance_after=MoneyPublic.of(cards.card_balance(session, card)),
        ).model_dump(mode="json")

    request_body = {"path": request.url.path, **body.model_dump()}
    return reply(idempotent(session, user.id, idempotency_key, request_body, operation))
