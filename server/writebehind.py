"""Writes whose results nobody reads, sent with whatever goes to PostgreSQL next.

A redemption's last writes — the business's credit, the transfer, the fraud rows, the
idempotency record, the events — wait for no answer: nothing after them reads what they
return. Sent one by one, each costs a round trip and SQLAlchemy's work around a statement.
`later` queues such a write, as its fixed driver text and parameters, on the transaction's
connection; the queue goes to PostgreSQL in psycopg's pipeline mode with the next statement
or with the COMMIT, all in one round trip (and the transaction's BEGIN rides with its first
statement the same way); inserts queued one after another go as one statement
(`_merged`). What a queued write changes is in the database before any later statement of
the transaction runs, so reading after `later` sees it; a write that fails fails that
statement or the commit, as the ORM's own flush would, and rolls everything back. A
savepoint rolled back drops what was queued inside it.

SQLite is in-process (no round trips to save): there `later` runs the statement at once.
"""

import functools
import re
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus
from sqlalchemy import Connection, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import TextClause

__all__ = ["install", "later", "later_sql", "rows_now"]

_QUEUE = "tillpoint.write_behind"
Queued = tuple[str, Mapping[str, Any] | Sequence[Any]]

_TEXTS: dict[int, tuple[TextClause, str]] = {}


def later(session: Session, statement: TextClause, params: Mapping[str, Any]) -> None:
    """Write `statement` (fixed text; no result read) in the session's transaction, with
    the next statement sent or at commit on PostgreSQL; at once elsewhere."""
    if session.new:  # what the ORM has yet to insert goes first, as it was made first
        session.flush()
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        connection.execute(statement, params)
        return
    later_sql(connection, _driver_text(statement, connection), params)


def later_sql(connection: Connection, sql: str, params: Mapping[str, Any] | Sequence[Any]) -> None:
    """Queue `sql`, already in psycopg's form, on `connection` (PostgreSQL only)."""
    queue: list[Queued] = connection.info.setdefault(_QUEUE, [])
    queue.append((sql, params))


def _driver_text(statement: TextClause, connection: Connection) -> str:
    """The statement as psycopg takes it (`%(name)s` parameters), compiled once."""
    known = _TEXTS.get(id(statement))
    if known is not None and known[0] is statement:
        return known[1]
    compiled = str(statement.compile(dialect=connection.dialect))
    _TEXTS[id(statement)] = (statement, compiled)
    return compiled


def install(engine: Engine) -> None:
    """Send queued writes (and BEGIN) with the next statement or the COMMIT (PostgreSQL)."""
    event.listen(engine, "do_execute", _execute)
    event.listen(engine, "do_execute_no_params", _execute_no_params)
    event.listen(engine, "do_executemany", _execute_many)
    event.listen(engine, "commit", _commit)
    for dropped in ("rollback", "rollback_savepoint"):
        event.listen(engine, dropped, _drop)
    event.listen(engine.pool, "reset", _drop_on_reset)


def _pending(connection: Connection) -> list[Queued] | None:
    if connection.invalidated:  # lost: the pool drops its record, queue and all
        return None
    try:
        queued: list[Queued] | None = connection.info.get(_QUEUE)
    except NotImplementedError:  # the engine's first connection, checking the server
        return None
    return queued


def _send(raw: psycopg.Connection[Any], queued: list[Queued]) -> None:
    with raw.cursor() as cursor:
        for sql, params in _merged(queued):
            cursor.execute(sql, params)
    queued.clear()


def _merged(queued: list[Queued]) -> list[Queued]:
    """The queue with each run of plain INSERTs sent as one statement (all but the last as
    `WITH` clauses: PostgreSQL runs every one, to completion, whether or not the last reads
    them). INSERTs only: they cannot touch one another's rows, and a failing one fails the
    statement as it would have failed alone. Fewer statements cost both psycopg's Python
    around each and PostgreSQL's work to start each."""
    merged: list[Queued] = []
    run: list[tuple[str, list[Any]]] = []
    for sql, params in queued:
        shape = _insert_shape(sql)
        if shape is not None:
            text, names = shape
            given = [params[n] for n in names] if isinstance(params, Mapping) else list(params)
            run.append((text, given))
            continue
        merged.extend(_one_statement(run))
        run = []
        merged.append((sql, params))
    merged.extend(_one_statement(run))
    return merged


def _one_statement(run: list[tuple[str, list[Any]]]) -> list[Queued]:
    if len(run) < 2:
        return [(text, tuple(values)) for text, values in run]
    heads = ", ".join(f"w{n} AS ({text})" for n, (text, _) in enumerate(run[:-1]))
    return [(f"WITH {heads} {run[-1][0]}", tuple(v for _, values in run for v in values))]


@functools.lru_cache(maxsize=512)
def _insert_shape(sql: str) -> tuple[str, tuple[str, ...]] | None:
    """For a plain INSERT (no RETURNING, no ON CONFLICT: an upsert may touch a row another
    merged clause writes, which one statement refuses), its text with positional
    placeholders only and the names its values come from, in order (none when it was
    positional already); None for any other statement. The queued texts are fixed, so each
    is looked at once."""
    upper = sql.upper()
    if not _INSERT.match(sql) or "RETURNING" in upper or "ON CONFLICT" in upper:
        return None
    names: list[str] = []

    def place(found: re.Match[str]) -> str:
        if found.group(0) == "%%":
            return "%%"
        names.append(found.group(1))
        return f"%{found.group(2)}"

    return _NAMED.sub(place, sql), tuple(names)


_INSERT = re.compile(r"\s*INSERT\s", re.IGNORECASE)
_NAMED = re.compile(r"%%|%\((\w+)\)([sbt])")


def _in_pipeline(cursor: Any, context: Any, run: Any) -> bool:
    """Run `run()` (the statement) in one pipeline with what is queued before it, and the
    transaction's BEGIN if it is the first: one round trip. False (SQLAlchemy runs it as
    usual) when there is nothing to send with it, or for a server-side cursor."""
    raw = cursor.connection
    queued = _pending(context.root_connection)
    first = raw.info.transaction_status == TransactionStatus.IDLE and not raw.autocommit
    if not (queued or first) or isinstance(cursor, psycopg.ServerCursor):
        return False
    with raw.pipeline():
        if queued:
            _send(raw, queued)
        run()
    return True


def rows_now(connection: Connection, sql: str, params: Mapping[str, Any]) -> list[Any]:
    """Run `sql`, in psycopg's form, on the driver itself (none of SQLAlchemy's work around a
    statement) with what is queued before it and the transaction's BEGIN, in one round trip
    as `_in_pipeline` sends them; its rows as tuples, their values as psycopg gives them.
    A failure raises as SQLAlchemy's error for it; a lost connection is invalidated, so
    `in_transaction` runs the work again (PostgreSQL only)."""
    raw: psycopg.Connection[Any] = connection.connection.driver_connection  # type: ignore[assignment]
    queued = _pending(connection)
    first = raw.info.transaction_status == TransactionStatus.IDLE and not raw.autocommit
    try:
        with raw.cursor() as cursor:
            if queued or first:
                with raw.pipeline():
                    if queued:
                        _send(raw, queued)
                    cursor.execute(sql, params)
            else:
                cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description is not None else []
    except psycopg.Error as failed:
        lost = raw.closed or raw.broken
        if lost:
            connection.invalidate()
        raise DBAPIError.instance(
            sql, params, failed, psycopg.Error, connection_invalidated=lost
        ) from failed


def _execute(cursor: Any, statement: str, parameters: Any, context: Any) -> bool:
    return _in_pipeline(cursor, context, lambda: cursor.execute(statement, parameters))


def _execute_no_params(cursor: Any, statement: str, context: Any) -> bool:
    return _in_pipeline(cursor, context, lambda: cursor.execute(statement))


def _execute_many(cursor: Any, statement: str, parameters: Any, context: Any) -> bool:
    return _in_pipeline(cursor, context, lambda: cursor.executemany(statement, parameters))


def _commit(connection: Connection) -> None:
    """The queue and COMMIT in one round trip; psycopg's own commit then has nothing to
    do. A failed write raises as SQLAlchemy's error for it (an `IntegrityError` for a
    duplicate key, as a flush would), and nothing is committed."""
    queued = _pending(connection)
    if not queued:
        return
    raw: psycopg.Connection[Any] = connection.connection.driver_connection  # type: ignore[assignment]
    try:
        with raw.pipeline():
            _send(raw, queued)
            raw.execute("COMMIT")
    except psycopg.Error as failed:
        queued.clear()
        lost = raw.closed or raw.broken
        raise DBAPIError.instance(
            "COMMIT", None, failed, psycopg.Error, connection_invalidated=lost
        ) from failed


def _drop(connection: Connection, *_: object) -> None:
    queued = _pending(connection)
    if queued:
        queued.clear()


def _drop_on_reset(dbapi_connection: object, record: Any, reset_state: object) -> None:
    queued = record.info.get(_QUEUE) if record is not None else None
    if queued:
        queued.clear()
