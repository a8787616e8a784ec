"""The event log's after-commit hook, which wakes the real-time streams: told once per
commit which businesses' logs moved, and never for what rolled back."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from server.events import EventEntity, record, recording
from server.events.recording import when_logs_move


@pytest.fixture
def heard(engine) -> tuple[sessionmaker[Session], list[frozenset[str]]]:
    sessions = sessionmaker(engine)
    told: list[frozenset[str]] = []
    when_logs_move(sessions, told.append)
    return sessions, told


def test_a_commit_tells_which_businesses_logs_moved(heard):
    sessions, told = heard
    with sessions() as session:
        record(session, "shop-a", EventEntity.CARD, "card-1")
        record(session, "shop-b", EventEntity.PRODUCT, "p-1")
        record(session, "shop-a", EventEntity.CARD, "card-2")
        assert told == []  # not before the commit: readers could not see the events yet
        session.commit()
    assert told == [frozenset({"shop-a", "shop-b"})]


@pytest.mark.parametrize("ending", ["rollback", "savepoint"])
def test_nothing_is_told_for_what_rolled_back(heard, ending):
    sessions, told = heard
    with sessions() as session:
        if ending == "rollback":
            record(session, "shop-a", EventEntity.CARD, "card-1")
            session.flush()
            session.rollback()
        else:
            savepoint = session.begin_nested()
            record(session, "shop-a", EventEntity.CARD, "card-1")
            savepoint.rollback()
        session.commit()
    assert told == []


def test_a_commit_without_events_tells_nothing(heard):
    sessions, told = heard
    with sessions() as session:
        session.commit()
    assert told == []


def test_events_written_by_a_commit_that_then_failed_are_never_told(heard, monkeypatch):
    sessions, told = heard
    original = recording._write

    def write_then_fail(session, pending):
        original(session, pending)
        raise RuntimeError("the database went away")

    monkeypatch.setattr(recording, "_write", write_then_fail)
    with sessions() as session:
        record(session, "shop-a", EventEntity.CARD, "card-1")
        with pytest.raises(RuntimeError):
            session.commit()
        session.rollback()
        monkeypatch.setattr(recording, "_write", original)
        session.commit()  # the next transaction writes nothing
    assert told == []
