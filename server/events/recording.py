"""Recording: every change to an entity terminals cache appends its event, by itself.

Models that terminals (and later notifications, streams, webhooks) follow inherit
`Recorded`. The session hooks below then do, for every insert, update and delete of
one through the ORM:

- before the flush, bump its `version` (if it has one) when a column really changed;
- after the flush, note the event in the transaction (ids are known by then);
- just before the outermost commit, take the next positions from the business's
  counter (its row stays locked until the commit: positions commit in order) and
  insert the events.

Events noted inside a savepoint that rolls back are dropped with it. A bulk UPDATE or
DELETE of a recorded model would change rows without their events, so it is refused:
change such rows through the ORM (lock them first where races matter). The ledger,
whose balances are not columns of a recorded model, calls `record` itself, once.

After a commit that wrote events, the session's `LogsMoved` listener (see
`when_logs_move`) hears which businesses' logs moved: the real-time streams wake on it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, cast

from sqlalchemy import event, insert, inspect, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import (
    ORMExecuteState,
    Session,
    SessionTransaction,
    UOWTransaction,
    make_transient_to_detached,
    sessionmaker,
)
from sqlalchemy.orm.attributes import get_history

from ..db import Base, insert_rows
from ..writebehind import later
from .models import Event, EventCounter, EventEntity, EventKind

__all__ = [
    "LogsMoved",
    "Recorded",
    "UnrecordedChangeError",
    "add_with_commit",
    "record",
    "when_logs_move",
]

_PENDING = "tillpoint.events.pending"
_FLUSHING = "tillpoint.events.flushing"
_MOVED = "tillpoint.events.moved"
_LISTENER = "tillpoint.events.logs_moved"

LogsMoved = Callable[[frozenset[str]], None]
"""Told, after a commit, the ids of the businesses whose logs that commit moved."""


class UnrecordedChangeError(RuntimeError):
    """A bulk statement tried to change a recorded model behind the event log's back."""


class Recorded:
    """A model whose every change is an event in its business's log.

    `__event_entity__` names the entity; override `event_key` where the business or the
    subject is not `business_id` / `id` (or the business), and `event_wanted` where only
    some changes are events (a token matters to terminals once it is revoked)."""

    __event_entity__: ClassVar[EventEntity]

    def event_key(self) -> tuple[str, str]:
        """(business id, entity id): the row's `id`, or the business itself where the
        row is one a business (its offline limits, its subscription)."""
        business_id = str(getattr(self, "business_id"))  # noqa: B009
        return business_id, str(getattr(self, "id", None) or business_id)

    def event_wanted(self, kind: EventKind) -> bool:
        return True


@dataclass(frozen=True, slots=True)
class _Noted:
    transaction: SessionTransaction
    business_id: str
    entity: EventEntity
    entity_id: str
    kind: EventKind
    at: datetime


def _pending(session: Session) -> list[_Noted]:
    return session.info.setdefault(_PENDING, [])  # type: ignore[no-any-return]


def _innermost(session: Session) -> SessionTransaction:
    # A session between transactions starts one, as its next statement would.
    return session.get_nested_transaction() or session.get_transaction() or session.begin()


def record(
    session: Session,
    business_id: str,
    entity: EventEntity,
    entity_id: str,
    kind: EventKind = EventKind.UPDATED,
) -> None:
    """Note an event in the session's transaction; it is written at commit."""
    _pending(session).append(
        _Noted(_innermost(session), business_id, entity, entity_id, kind, datetime.now(UTC))
    )


def add_with_commit(session: Session, obj: Recorded) -> None:
    """Add a new recorded row made whole (every column given, the defaults too: the
    session holds it as if read, so a column left unset would be read back). On
    PostgreSQL its INSERT goes with the transaction's next statement or its COMMIT
    (`db.insert_rows(later=True)`): a sale that needs no answer from it (its id is made
    here) spends no round trip on it. Its event is noted as a flush would note it.
    Elsewhere (SQLite) the ORM inserts it at once."""
    if session.get_bind().dialect.name != "postgresql":
        session.add(obj)
        session.flush()
        return
    model = cast("type[Base]", type(obj))  # every Recorded model is one of the tables
    row = {c.key: getattr(obj, c.key) for c in inspect(model).column_attrs}
    insert_rows(session, model, [row], later=True)
    make_transient_to_detached(obj)
    session.add(obj)
    if obj.event_wanted(EventKind.CREATED):
        business_id, entity_id = obj.event_key()
        record(session, business_id, obj.__event_entity__, entity_id, EventKind.CREATED)


def _changed_columns(obj: object) -> bool:
    state = inspect(obj)
    return any(
        get_history(obj, attr.key).has_changes()
        for attr in state.mapper.column_attrs
        if attr.key != "version"
    )


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, flush_context: UOWTransaction, instances: Any) -> None:
    noted: list[tuple[Recorded, EventKind]] = []
    for obj in session.new:
        if isinstance(obj, Recorded):
            noted.append((obj, EventKind.CREATED))
    for obj in session.dirty:
        if isinstance(obj, Recorded) and _changed_columns(obj):
            if hasattr(obj, "version"):
                obj.version = (obj.version or 0) + 1
            noted.append((obj, EventKind.UPDATED))
    for obj in session.deleted:
        if isinstance(obj, Recorded):
            noted.append((obj, EventKind.REMOVED))
    if noted:
        session.info.setdefault(_FLUSHING, []).extend(noted)


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, flush_context: UOWTransaction) -> None:
    for obj, kind in session.info.pop(_FLUSHING, []):
        if obj.event_wanted(kind):
            business_id, entity_id = obj.event_key()
            record(session, business_id, obj.__event_entity__, entity_id, kind)


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, previous: SessionTransaction) -> None:
    session.info.pop(_FLUSHING, None)
    pending = session.info.get(_PENDING)
    if pending:
        pending[:] = [n for n in pending if not _within(n.transaction, previous)]


def _within(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: its events stay with the transaction
    session.flush()  # the last changes note their events now
    pending = session.info.pop(_PENDING, None)
    if pending:
        _write(session, pending)


def _write(session: Session, pending: list[_Noted]) -> None:
    # Each subject once per transaction, in the order first noted; a removal wins.
    events: dict[tuple[str, str, str], _Noted] = {}
    for noted in pending:
        key = (noted.business_id, noted.entity, noted.entity_id)
        if key not in events or noted.kind is EventKind.REMOVED:
            events[key] = noted
    by_business: dict[str, list[_Noted]] = {}
    for noted in events.values():
        by_business.setdefault(noted.business_id, []).append(noted)
    at_once = session.get_bind().dialect.name == "postgresql"
    rows: list[dict[str, object]] = []
    for business_id in sorted(by_business):  # one lock order across businesses
        batch = by_business[business_id]
        if at_once:
            _insert_with_positions(session, business_id, batch)
            continue
        last = _take_positions(session, business_id, len(batch))
        first = last - len(batch) + 1
        rows.extend(
            {
                "business_id": business_id,
                "position": first + i,
                "entity": noted.entity.value,
                "entity_id": noted.entity_id,
                "kind": noted.kind.value,
                "occurred_at": noted.at,
            }
            for i, noted in enumerate(batch)
        )
    if rows:
        session.execute(insert(Event), rows)
    session.info.setdefault(_MOVED, set()).update(by_business)


_WITH_POSITIONS = text(
    """
    WITH taken AS (
        INSERT INTO event_counters (business_id, position) VALUES (:business_id, :count)
        ON CONFLICT (business_id) DO UPDATE SET position = event_counters.position + :count
        RETURNING position
    )
    INSERT INTO events (business_id, position, entity, entity_id, kind, occurred_at)
    SELECT :business_id, taken.position - :count + noted.n,
           noted.entity, noted.entity_id, noted.kind, noted.occurred_at
    FROM taken, unnest(
        CAST(:entities AS varchar[]), CAST(:entity_ids AS varchar[]),
        CAST(:kinds AS varchar[]), CAST(:occurred AS timestamptz[])
    ) WITH ORDINALITY AS noted (entity, entity_id, kind, occurred_at, n)
    """
)


def _insert_with_positions(session: Session, business_id: str, batch: list[_Noted]) -> None:
    """PostgreSQL: move the business's counter on and insert its events with the positions
    taken, in one statement (a data-modifying WITH): one round trip, not two. The counter's
    row stays locked until the commit, as with `_take_positions`. Plain SQL with arrays,
    so its text is the same for any number of events (one prepared form)."""
    later(  # nothing reads its answer: it goes with the COMMIT
        session,
        _WITH_POSITIONS,
        {
            "business_id": business_id,
            "count": len(batch),
            "entities": [n.entity.value for n in batch],
            "entity_ids": [n.entity_id for n in batch],
            "kinds": [n.kind.value for n in batch],
            "occurred": [n.at for n in batch],
        },
    )


def when_logs_move(sessions: sessionmaker[Session], listener: LogsMoved) -> None:
    """Call `listener` after every commit, by a session of `sessions`, that wrote events.
    It runs after the commit (readers can see the events by then) and must not raise."""
    sessions.configure(info={**sessions.kw.get("info", {}), _LISTENER: listener})


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    moved = session.info.pop(_MOVED, None)
    listener = session.info.get(_LISTENER)
    if moved and listener is not None:
        listener(frozenset(moved))


@event.listens_for(Session, "after_rollback")
def _after_outer_rollback(session: Session) -> None:
    session.info.pop(_MOVED, None)  # written, then rolled back: nothing moved


_UPSERTS: dict[str, Callable[..., Any]] = {
    "postgresql": postgresql.insert,
    "sqlite": sqlite.insert,
}


def _take_positions(session: Session, business_id: str, count: int) -> int:
    """Move the business's counter on by `count` and answer the last position taken.
    The counter's row stays locked until this transaction ends, so the next writer's
    positions come after these and become visible after them."""
    upsert = _UPSERTS[session.get_bind().dialect.name](EventCounter).values(
        business_id=business_id, position=count
    )
    statement = upsert.on_conflict_do_update(
        index_elements=[EventCounter.business_id],
        set_={"position": EventCounter.position + count},
    ).returning(EventCounter.position)
    return int(session.execute(statement).scalar_one())


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_changes(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete):
        return
    mapper = state.bind_mapper
    if mapper is not None and issubclass(mapper.class_, Recorded):
        raise UnrecordedChangeError(
            f"a bulk {'UPDATE' if state.is_update else 'DELETE'} of {mapper.class_.__name__} "
            "would change rows without their events: change them through the ORM"
        )
