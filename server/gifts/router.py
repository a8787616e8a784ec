"""Gifting's routes: buy a gift card for someone, list and cancel one's gifts, claim one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.orm import Session

from sync.money import Money
from sync.wire import MoneyPublic

from ..accounts.models import Role
from ..db import SessionDep, utcnow
from ..deps import (
    PROBLEM_RESPONSES,
    BearerClaims,
    CurrentCustomer,
    CurrentUser,
    IdempotencyKey,
    SalesDep,
    a_customer,
    checked_first_in,
    in_purchase_lane,
    reply,
    require_role,
    user_of,
)
from ..fraud.client import client_of
from ..wallet import cards
from ..wallet.idempotency import Outcome, idempotent
from ..wallet.models import GiftCard
from . import service
from .models import Gift
from .schemas import GiftClaim, GiftClaimed, GiftPage, GiftPublic, GiftPurchase

router = APIRouter(tags=["gifts"])


def _public(gift: Gift) -> GiftPublic:
    return GiftPublic(
        id=gift.id,
        business_id=gift.business_id,
        card_id=gift.card_id,
        amount=MoneyPublic.of(Money.of(gift.amount_minor, gift.currency)),
        recipient_email=gift.recipient_email,
        recipient_name=gift.recipient_name,
        message=gift.message,
        state=gift.state,
        deliver_at=gift.deliver_at,
        sent_at=gift.sent_at,
        claimed_at=gift.claimed_at,
        cancelled_at=gift.cancelled_at,
        created_at=gift.created_at,
    )


@router.post(
    "/businesses/{business_id}/gifts",
    status_code=201,
    response_model=GiftPublic,
    responses={402: {"description": "the payment was declined"}, **PROBLEM_RESPONSES},
    summary="Buy a gift card for someone: emailed to them at the delivery time",
)
@checked_first_in(a_customer)  # it checks the buyer in its lane, with the rest
async def buy_gift(
    business_id: str,
    body: GiftPurchase,
    request: Request,
    claims: BearerClaims,
    sales: SalesDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    request_body = {"path": request.url.path, **body.model_dump()}

    def work(session: Session) -> Outcome:
        user = user_of(session, request, claims)
        require_role(user, Role.CUSTOMER)
        buyer = service.Buyer(email=user.email, name=body.from_name, user_id=user.id)
        order = service.GiftOrder(
            business_id=business_id,
            amount_minor=body.amount_minor,
            card_number=body.payment.card_number,
            recipient_email=str(body.recipient_email),
            recipient_name=body.recipient_name,
            message=body.message,
            deliver_at=body.deliver_at,
        )

        def operation() -> Outcome:
            gift = service.buy_gift(
                session,
                sales,
                buyer,
                order,
                payment_key=f"{user.id}:{idempotency_key}",
                address=client_of(request).address,
                now=utcnow(),
            )
            return 201, _public(gift).model_dump(mode="json")

        return idempotent(session, user.id, idempotency_key, request_body, operation)

    # It waits on the payment provider: in the purchases' lane, not the shared pool.
    return reply(await in_purchase_lane(request, work))


@router.get("/me/gifts", summary="The gifts you bought: scheduled, sent, claimed, cancelled")
def my_gifts(
    user: CurrentUser,
    session: SessionDep,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> GiftPage:
    gifts, total = service.gifts_bought_by(session, user.id, offset, limit)
    return GiftPage.of([_public(g) for g in gifts], total, offset, limit)


@router.get("/me/gifts/{gift_id}", responses=PROBLEM_RESPONSES, summary="One gift you bought")
def my_gift(gift_id: str, user: CurrentUser, session: SessionDep) -> GiftPublic:
    return _public(service.gift_of(session, user.id, gift_id))


@router.post(
    "/me/gifts/{gift_id}/cancel",
    responses=PROBLEM_RESPONSES,
    summary="Cancel a gift not sent yet: its card comes into your own account",
)
def cancel_gift(gift_id: str, user: CurrentUser, session: SessionDep) -> GiftPublic:
    gift = service.cancel_gift(session, service.gift_of(session, user.id, gift_id), utcnow())
    session.commit()
    return _public(gift)


@router.post(
    "/gifts/claim",
    responses=PROBLEM_RESPONSES,
    summary="Claim a gift into your account by the code from its email",
)
def claim_gift(
    body: GiftClaim, request: Request, user: CurrentCustomer, session: SessionDep
) -> GiftClaimed:
    request.app.state.code_limiter.hit(f"gift:{client_of(request).address}", "code")
    gift = service.claim_gift(session, user, body.code, utcnow())
    session.commit()
    return _claimed(session, gift)


def _claimed(session: Session, gift: Gift) -> GiftClaimed:
    card = session.get_one(GiftCard, gift.card_id)
    return GiftClaimed(
        gift_id=gift.id,
        card_id=card.id,
        business_id=card.business_id,
        balance=MoneyPublic.of(cards.card_balance(session, card)),
        from_name=gift.from_name or gift.buyer_email or "Someone",
        message=gift.message,
    )
