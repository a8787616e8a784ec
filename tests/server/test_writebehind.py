"""Writes no one reads wait for the transaction's next statement or its COMMIT and go with
it (`server.writebehind`): what they change is there for every later statement, a write that
fails fails the commit and leaves nothing, and a savepoint or transaction rolled back takes
its queued writes with it. A statement sent on the driver itself (`server.db.driver_rows`)
rides with them the same way."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import (
    Engine,
    Select,
    String,
    TypeDecorator,
    bindparam,
    event,
    literal_column,
    select,
    table,
    text,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.db import driver_rows, make_engine
from server.writebehind import later, later_sql

pytestmark = pytest.mark.postgres

ADD = text("INSERT INTO notes (id, body) VALUES (:id, :body)")


@pytest.fixture
def notes(postgres_url) -> Iterator[Engine]:
    """An engine with one connection (so every transaction reuses it) and a `notes` table."""
    engine = make_engine(postgres_url, pool_size=1, max_overflow=0)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE notes (id int PRIMARY KEY, body text)"))
    yield engine
    engine.dispose()


def bodies(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.execute(text("SELECT body FROM notes ORDER BY id")).scalars())


def statements_sent(engine: Engine) -> list[str]:
    """Each statement SQLAlchemy sends itself (queued writes ride with one of them)."""
    sent: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: sent.append(args[2]))
    return sent


def test_a_queued_write_is_seen_by_the_next_statement_and_costs_no_trip_of_its_own(notes):
    sent = statements_sent(notes)
    with Session(notes) as session:
        later(session, ADD, {"id": 1, "body": "first"})
        later(session, ADD, {"id": 2, "body": "second"})
        assert sent == []  # nothing sent yet
        seen = session.execute(text("SELECT count(*) FROM notes")).scalar_one()
        assert seen == 2  # both went with this statement, before it
        assert len(sent) == 1
        later(session, ADD, {"id": 3, "body": "third"})
        session.commit()  # goes with the COMMIT
    assert len(sent) == 1
    assert bodies(notes) == ["first", "second", "third"]


def test_a_queued_write_that_fails_fails_the_commit_and_leaves_nothing(notes):
    with Session(notes) as session:
        session.execute(ADD, {"id": 1, "body": "sent at once"})
        session.commit()
    with Session(notes) as session:
        session.execute(ADD, {"id": 2, "body": "sent at once, same transaction"})
        later(session, ADD, {"id": 3, "body": "queued"})
        later(session, ADD, {"id": 1, "body": "a duplicate key"})
        with pytest.raises(IntegrityError):
            session.commit()
        session.rollback()
    assert bodies(notes) == ["sent at once"]
    with Session(notes) as session:  # the connection is fine for the next transaction
        later(session, ADD, {"id": 4, "body": "after"})
        session.commit()
    assert bodies(notes) == ["sent at once", "after"]


def test_a_failing_write_fails_the_statement_it_rides_with(notes):
    with Session(notes) as session:
        later(session, ADD, {"id": 1, "body": "one"})
        later(session, ADD, {"id": 1, "body": "the same key"})
        with pytest.raises(IntegrityError):
            session.execute(text("SELECT 1"))
        session.rollback()
    assert bodies(notes) == []


def test_a_rolled_back_transaction_leaves_nothing_queued_for_the_next(notes):
    with Session(notes) as session:
        later(session, ADD, {"id": 1, "body": "rolled back"})
        session.rollback()
    with Session(notes) as session:  # the same pooled connection
        later(session, ADD, {"id": 2, "body": "kept"})
        session.commit()
    assert bodies(notes) == ["kept"]


def test_a_savepoint_rolled_back_drops_only_what_was_queued_inside_it(notes):
    with Session(notes) as session:
        later(session, ADD, {"id": 1, "body": "before the savepoint"})
        savepoint = session.begin_nested()
        later(session, ADD, {"id": 2, "body": "inside, rolled back"})
        later(session, ADD, {"id": 1, "body": "inside, would fail: never sent"})
        savepoint.rollback()
        later(session, ADD, {"id": 3, "body": "after it"})
        session.commit()
    assert bodies(notes) == ["before the savepoint", "after it"]


class Shouted(TypeDecorator[str]):
    """A type that changes what it sends: upper case."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: object) -> str | None:
        return None if value is None else value.upper()


NOTES_BY: Select[*tuple[Any, ...]] = (
    select(literal_column("id"), literal_column("body"))
    .select_from(table("notes"))
    .where(literal_column("body") == bindparam("body", type_=Shouted()))
)


def test_a_statement_on_the_driver_sees_the_queued_writes_and_costs_one_trip(notes):
    sent = statements_sent(notes)
    with Session(notes) as session:
        later(session, ADD, {"id": 1, "body": "LOGIN"})
        later(session, ADD, {"id": 2, "body": "PURCHASE"})
        # The value goes as its type sends it, as SQLAlchemy would send it.
        found = driver_rows(session, NOTES_BY, {"body": "purchase"})
        assert [tuple(row) for row in found] == [(2, "PURCHASE")]
        assert sent == []  # nothing through SQLAlchemy's execution: one trip, on the driver
        session.commit()
    assert bodies(notes) == ["LOGIN", "PURCHASE"]


def test_a_failing_write_fails_the_driver_statement_it_rides_with(notes):
    with Session(notes) as session:
        later(session, ADD, {"id": 1, "body": "login"})
        later(session, ADD, {"id": 1, "body": "the same key"})
        with pytest.raises(IntegrityError):
            driver_rows(session, NOTES_BY, {"body": "login"})
        session.rollback()
    assert bodies(notes) == []


def test_queued_inserts_in_a_row_go_as_one_statement_with_what_each_wrote(notes, monkeypatch):
    """Inserts queued one after another reach PostgreSQL as one statement (each but the last
    a WITH clause), named and positional parameters alike, a literal % kept; a write of
    another kind between them stays in its place, so what it changes is as queued."""
    sent: list[str] = []
    execute = psycopg.Cursor.execute

    def counted(cursor: Any, query: Any, params: Any = None, **kwargs: Any) -> Any:
        sent.append(str(query))
        return execute(cursor, query, params, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", counted)
    with Session(notes) as session:
        session.connection()
        later(session, ADD, {"id": 1, "body": "one"})
        later_sql(session.connection(), "INSERT INTO notes VALUES (%s, %s || '%%')", (2, "two"))
        later(session, ADD, {"id": 3, "body": "three"})
        later(session, text("UPDATE notes SET body = body || '!' WHERE id < :below"), {"below": 3})
        later(session, ADD, {"id": 4, "body": "four"})
        session.commit()
    written = [s for s in sent if "notes" in s]
    assert len(written) == 3  # the three inserts; the update; the last insert
    assert bodies(notes) == ["one!", "two%!", "three", "four"]
    assert written[0].startswith("WITH w0 AS (INSERT INTO notes")


def test_upserts_of_one_row_queued_together_each_see_the_last(notes):
    """An INSERT … ON CONFLICT queued after another of the same row goes as a statement of
    its own (merged into one, PostgreSQL would refuse to touch the row twice): both
    apply, as they would have one after the other."""
    upsert = text(
        "INSERT INTO notes (id, body) VALUES (:id, :body) "
        "ON CONFLICT (id) DO UPDATE SET body = notes.body || excluded.body"
    )
    with Session(notes) as session:
        session.connection()
        later(session, upsert, {"id": 1, "body": "a"})
        later(session, upsert, {"id": 1, "body": "b"})
        later(session, ADD, {"id": 2, "body": "c"})
        session.commit()
    assert bodies(notes) == ["ab", "c"]
