"""A pushed batch screened at once decides exactly what screening each event in turn does:
the same decisions with the same counts, the same reviews and hits, the same flags."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server.db import utcnow
from server.devices.models import Incident
from server.fraud import service as fraud
from server.fraud.models import (
    Counting,
    FraudAction,
    FraudActivity,
    FraudDecision,
    FraudEvent,
    FraudReview,
    FraudRule,
    FraudSubject,
    ReviewStatus,
    RuleMode,
)
from server.fraud.pushed import PushedScreening

PUSHED = FraudEvent.REDEMPTION_PUSHED

RULES = [
    # name, subject, counting, max_count, max_amount_minor, action, mode
    ("card attempts", FraudSubject.CARD, Counting.ATTEMPTS, 2, None, FraudAction.REVIEW, "e"),
    ("card amount", FraudSubject.CARD, Counting.ATTEMPTS, None, 500, FraudAction.BLOCK, "e"),
    ("till attempts", FraudSubject.TERMINAL, Counting.ATTEMPTS, 3, None, FraudAction.BLOCK, "s"),
    ("till failures", FraudSubject.TERMINAL, Counting.FAILURES, 1, None, FraudAction.REVIEW, "e"),
]


def _activity(business_id: str, card: str, amount: int, till: str = "device:1") -> fraud.Activity:
    return fraud.Activity(
        PUSHED,
        business_id=business_id,
        card_id=card,
        terminal=till,
        amount_minor=amount,
        currency="GBP",
    )


def _set_up(session: Session, business_id: str) -> list[fraud.Activity]:
    """Only the rules above; some earlier activity (one row outside every window), an
    open review of card B; and the batch to screen."""
    session.execute(update(FraudRule).values(enabled=False))
    fraud.forget_rules(session)  # the rules change here, as an edit through the API would
    for name, subject, counting, most, amount, action, mode in RULES:
        session.add(
            FraudRule(
                name=name,
                subject=subject,
                event=PUSHED,
                counting=counting,
                window_seconds=600,
                max_count=most,
                max_amount_minor=amount,
                currency="GBP" if amount else None,
                action=action,
                mode=RuleMode.ENFORCED if mode == "e" else RuleMode.SHADOW,
            )
        )
    session.flush()
    now = utcnow()
    for card, ago, failed in (("A", 60, False), ("A", 700, False), ("C", 30, True)):
        row = _activity(business_id, card, 200).row(now - timedelta(seconds=ago), failed=failed)
        session.add(row)
    card_attempts = session.scalar(select(FraudRule).where(FraudRule.name == "card attempts"))
    assert card_attempts is not None
    session.add(
        FraudReview(
            business_id=business_id,
            rule_id=card_attempts.id,
            decision_reference="earlier",
            event=PUSHED,
            subject=FraudSubject.CARD,
            subject_key="B",
            reason="earlier",
            hits=4,
        )
    )
    session.flush()
    return [
        _activity(business_id, card, amount, till)
        for card, amount, till in [
            ("A", 100, "device:1"),
            ("B", 300, "device:1"),
            ("A", 250, "device:2"),
            ("C", 100, "device:1"),
            ("B", 300, "device:1"),
            ("A", 50, "device:1"),
            ("D", 700, "device:2"),
            ("B", 10, "device:2"),
        ]
    ]


def _outcome(session: Session) -> dict[str, Any]:
    rules = {r.id: r.name for r in session.scalars(select(FraudRule))}
    return {
        "decisions": sorted(
            (rules[d.rule_id], d.subject_key, sorted(d.inputs.items()), d.action, d.mode)
            for d in session.scalars(select(FraudDecision).where(FraudDecision.event == PUSHED))
        ),
        "reviews": sorted(
            (rules[r.rule_id], r.subject_key, r.hits, r.reason, r.status)
            for r in session.scalars(select(FraudReview).where(FraudReview.event == PUSHED))
        ),
        "activity": sorted(
            (a.card_id, a.terminal, a.amount_minor, a.failed)
            for a in session.scalars(select(FraudActivity).where(FraudActivity.event == PUSHED))
        ),
        "incidents": sorted(
            (i.subject_id, i.event_id, i.detail) for i in session.scalars(select(Incident))
        ),
    }


def _screen_each(session: Session, batch: list[fraud.Activity]) -> list[str | None]:
    return [fraud.screen_pushed(session, a, f"event-{n}") for n, a in enumerate(batch)]


def _screen_batch(session: Session, batch: list[fraud.Activity]) -> list[str | None]:
    screening = PushedScreening(session, batch[:4])  # D (and more of A, B) comes unannounced
    flags = [screening.screen(a, f"event-{n}") for n, a in enumerate(batch)]
    screening.write()
    return flags


def _run(
    sessions: Callable[[], Session],
    business_id: str,
    screen: Callable[[Session, list[fraud.Activity]], list[str | None]],
) -> tuple[list[str | None], dict[str, Any]]:
    with sessions() as session:
        batch = _set_up(session, business_id)
        flags = screen(session, batch)
        session.flush()
        outcome = _outcome(session)
        session.rollback()
    return flags, outcome


def test_a_batch_screened_at_once_decides_as_event_by_event(shop, sessions):
    one_by_one = _run(sessions, shop.business_id, _screen_each)
    at_once = _run(sessions, shop.business_id, _screen_batch)
    assert at_once == one_by_one
    flags, outcome = one_by_one
    # Not a trivial case: amounts block (flagged), counts open reviews, an earlier review
    # grows, a failure before the batch counts, a shadow rule only records.
    assert [f is not None for f in flags] == [False, False, True, False, True, True, True, True]
    reviews = {(name, key): hits for name, key, hits, _, _ in outcome["reviews"]}
    assert reviews == {
        ("card amount", "A"): 2,
        ("card amount", "B"): 2,
        ("card amount", "D"): 1,
        ("card attempts", "A"): 2,
        ("card attempts", "B"): 5,
        ("till failures", "device:1"): 5,
    }
    assert len(outcome["decisions"]) == 4 * len(flags)


def test_hits_on_a_review_closed_meanwhile_open_a_new_one(shop, sessions):
    """Staff clear card B's review after the batch read it and before the batch is written:
    the batch's hit opens a new review, as a redemption's would, and the cleared one keeps
    what it had when it was cleared."""
    with sessions() as session:
        batch = _set_up(session, shop.business_id)
        screening = PushedScreening(session, batch)
        for n, activity in enumerate(batch):
            screening.screen(activity, f"event-{n}")
        session.execute(
            update(FraudReview)
            .where(FraudReview.subject_key == "B", FraudReview.hits == 4)
            .values(status=ReviewStatus.CLEARED, resolution="a regular customer")
        )
        screening.write()
        session.flush()
        rules = {r.id: r.name for r in session.scalars(select(FraudRule))}
        reviews = sorted(
            (r.subject_key, r.hits, r.status, r.resolution)
            for r in session.scalars(select(FraudReview))
            if rules[r.rule_id] == "card attempts"
        )
        session.rollback()
    assert reviews == [
        ("A", 2, ReviewStatus.OPEN, ""),
        ("B", 1, ReviewStatus.OPEN, ""),
        ("B", 4, ReviewStatus.CLEARED, "a regular customer"),
    ]


def test_a_busy_window_is_read_only_as_far_as_decides_and_both_ways_agree(shop, sessions):
    """Card A's and till 1's windows hold more rows than their counting rules need: the
    batch reads the newest few (on PostgreSQL), and decides as event by event does,
    "at least" counts and amounts included."""

    def busy(screen: Callable[[Session, list[fraud.Activity]], list[str | None]]):
        def screened(session: Session, batch: list[fraud.Activity]) -> list[str | None]:
            now = utcnow()
            for n in range(7):
                earlier = _activity(shop.business_id, "A", 100 + n, "device:1")
                session.add(earlier.row(now - timedelta(seconds=10 + n)))
            session.flush()
            return screen(session, batch)

        return screened

    one_by_one = _run(sessions, shop.business_id, busy(_screen_each))
    at_once = _run(sessions, shop.business_id, busy(_screen_batch))
    assert at_once == one_by_one
    inputs = [dict(i) for name, key, i, _, _ in one_by_one[1]["decisions"]]
    past = [i for i in inputs if i.get("at_least")]
    assert len(past) >= 3  # card A's attempts and till 1's attempts and failures, each time
