"""Reading the log: a business's events after a position, and where its log stands."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Event, EventCounter

__all__ = ["events_after", "head_position"]


def events_after(session: Session, business_id: str, position: int, limit: int) -> Sequence[Event]:
    """Up to `limit` of the business's events after `position`, in order. Every position
    a reader can see has every earlier one committed before it (see `Event`), so
    resuming after the last one returned never skips an event."""
    return session.scalars(
        select(Event)
        .where(Event.business_id == business_id, Event.position > position)
        .order_by(Event.position)
        .limit(limit)
    ).all()


def head_position(session: Session, business_id: str) -> int:
    """The business's last committed position: a reader that has read the state now
    resumes here and misses nothing committed after."""
    return (
        session.scalar(select(EventCounter.position).where(EventCounter.business_id == business_id))
        or 0
    )
