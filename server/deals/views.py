"""Counting a deal's page views (`DealView`): one UPDATE of the day's counter, or the day's
first row; two first views at once both count (the loser of the INSERT race updates)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .models import DealView

__all__ = ["count_view"]


def _add_one(session: Session, deal_id: str, day: date) -> bool:
    bumped = session.execute(
        update(DealView)
        .where(DealView.deal_id == deal_id, DealView.day == day)
        .values(views=DealView.views + 1)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(bumped, "rowcount", 0))


def count_view(session: Session, deal_id: str, day: date) -> None:
    """One more view of the deal on `day`, committed."""
    if not _add_one(session, deal_id, day):
        try:
            with session.begin_nested():
                session.add(DealView(deal_id=deal_id, day=day, views=1))
        except IntegrityError:
            _add_one(session, deal_id, day)
    session.commit()
