"""One open review per rule and subject, also when the first hits come at once: two
transactions that each find no open review must not open one each (PostgreSQL; SQLite
has one writer, so they take turns anyway)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from server.db import Base, make_engine
from server.fraud import service as fraud
from server.fraud.models import (
    Counting,
    FraudAction,
    FraudEvent,
    FraudReview,
    FraudRule,
    FraudSubject,
    ReviewStatus,
    RuleMode,
)
from server.fraud.pushed import PushedScreening

pytestmark = pytest.mark.postgres

ADDRESS = "203.0.113.9"
BUSINESS = "biz00000001"


@pytest.fixture
def pg_engine(postgres_url) -> Iterator[Engine]:
    engine = make_engine(postgres_url)
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.execute(
            text(
                "INSERT INTO businesses (id, name, category, description, currency, created_at) "
                "VALUES (:id, 'Café', 'cafe', '', 'GBP', now())"
            ),
            {"id": BUSINESS},
        )
        for event, subject in (
            (FraudEvent.LOGIN, FraudSubject.ADDRESS),
            (FraudEvent.REDEMPTION_PUSHED, FraudSubject.TERMINAL),
        ):
            session.add(  # every one past it: each screening is a hit
                FraudRule(
                    name=f"every {event}",
                    subject=subject,
                    event=event,
                    counting=Counting.ATTEMPTS,
                    window_seconds=600,
                    max_count=0,
                    action=FraudAction.REVIEW,
                    mode=RuleMode.ENFORCED,
                )
            )
        session.commit()
    yield engine
    engine.dispose()


def _sign_in(session: Session) -> None:
    fraud.screen(session, fraud.Activity(FraudEvent.LOGIN, address=ADDRESS))


def _pushed(session: Session) -> None:
    activity = fraud.Activity(
        FraudEvent.REDEMPTION_PUSHED,
        business_id=BUSINESS,
        card_id="card1",
        terminal="device:1",
        amount_minor=100,
        currency="GBP",
    )
    screening = PushedScreening(session, [activity])
    screening.screen(activity, "event-1")
    screening.write()


def _one_then_another(
    engine: Engine, first: Callable[[Session], None], second: Callable[[Session], None]
) -> list[tuple[int, ReviewStatus]]:
    """`first` screens and sends its writes but has not committed when `second` screens
    and commits: `second` must wait for `first` (shown by PostgreSQL's locks, not by a
    clock). Then `first` commits. The reviews they leave (hits, status)."""
    with Session(engine) as session:
        fraud.forget_rules(session)
    errors: list[BaseException] = []
    with Session(engine) as one:
        first(one)
        one.execute(text("SELECT 1"))  # what it queued goes now: its review is written

        def other() -> None:
            try:
                with Session(engine) as session:
                    second(session)
                    session.commit()
            except BaseException as error:  # reported below
                errors.append(error)

        thread = threading.Thread(target=other)
        thread.start()
        waited = _until_waiting_for_a_lock(engine)
        one.commit()
    thread.join(timeout=30)
    assert errors == []
    assert waited, "the second transaction never waited for the first's open review"
    with Session(engine) as session:
        return sorted((r.hits, r.status) for r in session.scalars(select(FraudReview)))


def _until_waiting_for_a_lock(engine: Engine, seconds: float = 10.0) -> bool:
    """Whether a backend on this database came to wait for a lock within `seconds`. Each
    look is a transaction of its own: within one, PostgreSQL may go on showing the
    backends as its first look saw them (on a loaded machine a first look before the wait
    hid it for the whole 10 s: 2 runs in 7 failed so, none in 8 after this)."""
    deadline = time.monotonic() + seconds
    with engine.connect() as connection:
        while time.monotonic() < deadline:
            waiting = connection.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'"
                )
            )
            connection.rollback()  # the next look sees the backends as they are then
            if waiting:
                return True
            time.sleep(0.02)
    return False


def test_two_first_hits_at_once_open_one_review_with_both(pg_engine):
    assert _one_then_another(pg_engine, _sign_in, _sign_in) == [(2, ReviewStatus.OPEN)]


def test_a_pushed_batch_adds_to_a_review_opened_at_the_same_moment(pg_engine):
    """A batch that finds no open review, while another transaction opens one: the
    batch's hit goes to that review, and the push is not refused for it."""
    assert _one_then_another(pg_engine, _pushed, _pushed) == [(2, ReviewStatus.OPEN)]


def test_hits_on_one_review_given_together_add_up(pg_engine):
    """Two hits on one rule and subject in one call (as a caller may gather them) are one
    row of the statement, with both hits: PostgreSQL refuses to touch a row twice."""
    with Session(pg_engine) as session:
        rule = session.scalars(select(FraudRule).where(FraudRule.event == FraudEvent.LOGIN)).one()
        hit = {
            "business_id": None,
            "rule_id": rule.id,
            "event": "login",
            "subject": "address",
            "subject_key": ADDRESS,
            "hits": 1,
        }
        fraud.hit_or_open(
            session,
            [
                {**hit, "id": "first", "reference": "r1", "reason": "first"},
                {
                    **hit,
                    "id": "other",
                    "subject_key": "198.51.100.1",
                    "reference": "r",
                    "reason": "",
                },
                {**hit, "id": "second", "reference": "r2", "reason": "second"},
            ],
        )
        session.commit()
        reviews = sorted(
            (r.subject_key, r.hits, r.decision_reference, r.reason)
            for r in session.scalars(select(FraudReview))
        )
    assert reviews == [("198.51.100.1", 1, "r", ""), (ADDRESS, 2, "r2", "second")]
