"""All database access for the back-office lists."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from ..db import count_of
from ..wallet.models import GiftCard, Hold, HoldStatus

__all__ = ["effective_status", "holds"]


def effective_status(held: Hold, now: datetime) -> HoldStatus:
    """A pending hold past its time is expired, whether or not the expiry job ran yet."""
    if held.status is HoldStatus.PENDING and held.expires_at <= now:
        return HoldStatus.EXPIRED
    return held.status


def _in_status(status: HoldStatus, now: datetime) -> ColumnElement[bool]:
    if status is HoldStatus.PENDING:
        return and_(Hold.status == HoldStatus.PENDING, Hold.expires_at > now)
    if status is HoldStatus.EXPIRED:
        return or_(
            Hold.status == HoldStatus.EXPIRED,
            and_(Hold.status == HoldStatus.PENDING, Hold.expires_at <= now),
        )
    return Hold.status == status


def holds(
    session: Session,
    business_id: str,
    status: HoldStatus | None,
    card_id: str | None,
    now: datetime,
    offset: int,
    limit: int,
) -> tuple[list[tuple[Hold, str]], int]:
    """The holds on the business's cards (in one status, on one card), newest first, each
    with its card's currency; with the total."""
    query = (
        select(Hold, GiftCard.currency)
        .join(GiftCard, GiftCard.id == Hold.card_id)
        .where(GiftCard.business_id == business_id)
    )
    if status is not None:
        query = query.where(_in_status(status, now))
    if card_id is not None:
        query = query.where(Hold.card_id == card_id)
    total = count_of(session, query)
    rows = session.execute(
        query.order_by(Hold.created_at.desc(), Hold.id).offset(offset).limit(limit)
    ).all()
    return [(held, currency) for held, currency in rows], total
