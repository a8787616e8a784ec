"""Outbox rows claimed by leases.

A claim is a lease: a short transaction sets the worker's token, `claimed_until` and one
more attempt on up to a batch of due rows (FOR UPDATE SKIP LOCKED on PostgreSQL, so
workers at once take different rows; SQLite's writers take turns). Sending happens outside
any transaction, and `release` — marking the row sent, or due again later — succeeds only
while the row is still pending and still this worker's. Another worker can take a row over
only after its lease ends; a worker checks its lease still runs before each send, and the
lease is far longer than a send may take. So one row is sent once by one worker.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Integer, String, and_, func, or_, select, update
from sqlalchemy.orm import Mapped, QueryableAttribute, Session, mapped_column

from ..db import UtcDateTime, rowcount, str_enum, utcnow
from ..ids import ID_LENGTH

__all__ = [
    "Backlog",
    "Delivery",
    "Leased",
    "backlog",
    "claim_due",
    "lease_for",
    "release",
    "still_held",
]


class Delivery(enum.StrEnum):
    PENDING = "pending"  # waiting for its (next) attempt
    SENT = "sent"
    FAILED = "failed"  # gave up after the last attempt


class Leased:
    """Columns of an outbox row that workers claim: its state, its tries and its lease."""

    status: Mapped[Delivery] = mapped_column(str_enum(Delivery, 10), default=Delivery.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    # A worker's claim: its token, and until when the row is its own to send.
    claimed_by: Mapped[str | None] = mapped_column(String(ID_LENGTH), default=None)
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)


def lease_for(timeout: float) -> timedelta:
    """How long a claim lasts when one send may take up to `timeout` seconds: far longer,
    so a claim never runs out mid-send, and at least a minute."""
    return timedelta(seconds=max(60.0, 6 * timeout))


def claim_due(
    session: Session,
    model: type[Leased],
    worker: str,
    now: datetime,
    until: datetime,
    limit: int,
    *where: ColumnElement[bool],
) -> list[Any]:
    """Claim up to `limit` pending rows of `model` that are due, match `where` and are not
    claimed by another worker whose claim still runs; their ids. PostgreSQL skips rows
    another worker is claiming this moment (FOR UPDATE SKIP LOCKED)."""
    table_id = model.id  # type: ignore[attr-defined]
    due = (
        select(table_id)
        .where(
            model.status == Delivery.PENDING,
            model.next_attempt_at <= now,
            or_(model.claimed_until.is_(None), model.claimed_until < now),
            *where,
        )
        .order_by(model.next_attempt_at, table_id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = list(session.scalars(due))
    if ids:
        session.execute(
            update(model)
            .where(table_id.in_(ids))
            .values(claimed_by=worker, claimed_until=until, attempts=model.attempts + 1)
            .execution_options(synchronize_session=False)
        )
    return ids


def release(
    session: Session, model: type[Leased], row_id: object, worker: str, values: dict[str, object]
) -> bool:
    """Change a row this worker still holds (its claim not taken over, still pending);
    whether it did."""
    result = session.execute(
        update(model)
        .where(
            and_(
                model.id == row_id,  # type: ignore[attr-defined]
                model.claimed_by == worker,
                model.status == Delivery.PENDING,
            )
        )
        .values(claimed_by=None, claimed_until=None, **values)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


def still_held(row: Leased, worker: str, now: datetime) -> bool:
    """Whether `worker`'s lease on the row still runs (checked before each send)."""
    return row.claimed_by == worker and row.claimed_until is not None and row.claimed_until > now


@dataclass(frozen=True, slots=True)
class Backlog:
    """Rows due and not sent yet: how many, and since when the first of them is due."""

    rows: int = 0
    due_since: datetime | None = None


def backlog(
    session: Session,
    model: type[Leased],
    now: datetime,
    *where: ColumnElement[bool],
    by: QueryableAttribute[Any] | None = None,
) -> dict[Any, Backlog]:
    """The pending rows of `model` due by `now` that match `where`, claimed or not: one
    aggregate over the (status, next_attempt_at) index every outbox table has. By the value
    of `by` (a group with none due is missing), or all under the key None."""
    groups = [] if by is None else [by]
    rows = session.execute(
        select(*groups, func.count(), func.min(model.next_attempt_at))
        .where(model.status == Delivery.PENDING, model.next_attempt_at <= now, *where)
        .group_by(*groups)
    ).all()
    return {(None if by is None else row[0]): Backlog(row[-2], row[-1]) for row in rows if row[-2]}
