"""The vendor's back-office lists: the holds on the business's cards."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from sync.money import Money
from sync.wire import MoneyPublic

from ..db import SessionDep
from ..deps import ManagedBusiness
from ..pages import Paging
from ..wallet.models import HoldStatus
from . import repository
from .schemas import HeldPublic, HoldPage

router = APIRouter(tags=["back office"])


@router.get(
    "/businesses/{business_id}/holds",
    summary="Holds on your cards",
    description="Newest first; `status` keeps one (a pending hold past its time counts as "
    "expired), `card_id` one card's.",
)
def list_holds(
    business: ManagedBusiness,
    session: SessionDep,
    paging: Paging,
    status: HoldStatus | None = None,
    card_id: Annotated[str | None, Query(max_length=22)] = None,
) -> HoldPage:
    now = datetime.now(UTC)
    rows, total = repository.holds(
        session, business.id, status, card_id, now, paging.offset, paging.limit
    )
    items = [
        HeldPublic(
            id=held.id,
            card_id=held.card_id,
            status=repository.effective_status(held, now),
            amount=MoneyPublic.of(Money.of(held.amount_minor, currency)),
            posted=MoneyPublic.of(Money.of(held.posted_minor, currency)),
            created_at=held.created_at,
            expires_at=held.expires_at,
        )
        for held, currency in rows
    ]
    return HoldPage.of(items, total, paging.offset, paging.limit)
