"""A reader's cursor per business: how far it has turned that business's log into its
outbox.

`read_new_events` is the whole reading loop: for each business whose log is ahead of the
reader's cursor, lock the cursor row, read the events after it, hand them to the reader's
`write` in the same transaction, move the cursor, commit. Two readers at once are safe:
the second waits on the locked cursor and then starts where the first left it (SQLite's
writers take turns anyway). What `write` puts in the outbox commits with the cursor's
move, or neither does: an event is turned into rows once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import BigInteger, ColumnElement, String, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..events import Event, EventCounter, events_after, head_position
from ..ids import ID_LENGTH

__all__ = [
    "LogCursor",
    "businesses_behind",
    "insert_for",
    "locked",
    "read_new_events",
    "start_at_head",
]

_INSERTS: dict[str, Callable[..., Any]] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def insert_for(session: Session) -> Callable[..., Any]:
    """The dialect's INSERT, which has ON CONFLICT (PostgreSQL and SQLite spell it alike)."""
    return _INSERTS[session.get_bind().dialect.name]


class LogCursor:
    """Columns of a cursor table: one row a business, the last position read."""

    business_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger)


Cursor = TypeVar("Cursor", bound=LogCursor)


def businesses_behind(
    session: Session, cursor: type[LogCursor], among: ColumnElement[bool] | None = None
) -> Sequence[str]:
    """The businesses whose log has events after the reader's cursor (a business without a
    cursor row counts from 0); only those `among` matches (a condition on
    `EventCounter.business_id`) when given."""
    query = (
        select(EventCounter.business_id)
        .outerjoin(cursor, cursor.business_id == EventCounter.business_id)
        .where(EventCounter.position > func.coalesce(cursor.position, 0))
    )
    if among is not None:
        query = query.where(among)
    return session.execute(query).scalars().all()


def locked(session: Session, cursor: type[Cursor], business_id: str) -> Cursor:
    """The reader's cursor on the business's log, locked until the commit (made at 0 when
    the business has none yet)."""
    session.execute(
        insert_for(session)(cursor)
        .values(business_id=business_id, position=0)
        .on_conflict_do_nothing(index_elements=[cursor.business_id])
    )
    return session.scalars(
        select(cursor)
        .where(cursor.business_id == business_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def read_new_events(
    sessions: Callable[[], Session],
    cursor: type[LogCursor],
    batch: int,
    write: Callable[[Session, Sequence[Event]], None],
    among: ColumnElement[bool] | None = None,
) -> int:
    """Read every business's new events once (up to `batch` each) into `write`, in the
    transaction that moves the cursor; the number of events read. A business first seen
    starts at the beginning of its log (`start_at_head` starts one at its head)."""
    with sessions() as session:
        behind = businesses_behind(session, cursor, among)
    read = 0
    for business_id in behind:
        with sessions() as session:
            row = locked(session, cursor, business_id)
            events = events_after(session, business_id, row.position, batch)
            if events:
                write(session, events)
                row.position = events[-1].position
            session.commit()
            read += len(events)
    return read


def start_at_head(session: Session, cursor: type[LogCursor], business_id: str) -> None:
    """Move the business's cursor to its log's head (in the caller's transaction): what
    happened before is never read."""
    row = locked(session, cursor, business_id)
    row.position = max(row.position, head_position(session, business_id))
