"""Reading the log: a business's events after a position, and where its log stands."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Event, EventCounter

__all__ = ["events_after", "head_position", "mark_at", "mark_of"]


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


def mark_of(event: Event) -> str:
    """What tells this change from another that later took its position: a position is
    handed out anew after the database is restored from an older backup. A reader keeps
    the mark of the last change it read with its position and sends both; a mark that is
    not the one at that position says the log it read is not this one."""
    said = f"{event.id}|{event.entity}|{event.entity_id}|{event.kind}|{event.occurred_at}"
    return hashlib.blake2b(said.encode(), digest_size=8).hexdigest()


def mark_at(session: Session, business_id: str, position: int) -> str | None:
    """The mark of the business's change at `position`; None at 0 or where there is none."""
    if position <= 0:
        return None
    event = session.scalar(
        select(Event).where(Event.business_id == business_id, Event.position == position)
    )
    return None if event is None else mark_of(event)
