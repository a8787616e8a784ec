"""Screening a terminal's pushed batch at once: the same rules, counts and outcomes as
`service.screen_pushed` called for each event in turn, in a few statements for the batch.

Event by event, screening cost two or three queries (the rules, each rule's count of the
subject's recent activity, the open review) and flushed everything before them: the push's
biggest cost. Here the rules are read once, each rule's counts for every subject the batch
names come from one grouped query, and each event's count is that plus the batch's events
before it (kept in memory, as the database would have counted them). The activity rows and
decisions are written with one INSERT each; open reviews are read once and updated in place.
`tests/server/test_fraud_pushed.py` holds the two ways to the same decisions, reviews and
flags.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Select,
    Table,
    and_,
    bindparam,
    case,
    func,
    select,
    text,
    true,
    tuple_,
    update,
)
from sqlalchemy.orm import Session

from sync.wire import IncidentKind

from ..db import among, insert_rows, utcnow
from ..devices.models import Incident
from ..ids import make_id
from ..writebehind import later
from .models import (
    Counting,
    FraudAction,
    FraudActivity,
    FraudDecision,
    FraudEvent,
    FraudReview,
    FraudSubject,
    ReviewStatus,
    RuleMode,
)
from .service import (
    _COLUMNS,
    _UNCAPPED,
    Activity,
    Rule,
    _cap,
    _enabled_rules,
    _over,
    _reason,
    new_review,
    past_cap,
)

__all__ = ["PushedScreening"]


class _Tally:
    """A subject's activity in a rule's window, as `_measure` counts it in SQL."""

    __slots__ = ("amount_minor", "count", "payment_cards")

    def __init__(self) -> None:
        self.count = 0
        self.amount_minor = 0
        self.payment_cards: set[str] = set()

    def seen(self, rule: Rule, activity: Activity) -> dict[str, int]:
        """What `_measure` answers for `activity`: the window so far, this event included."""
        if self.count >= _cap(rule):
            return past_cap(rule)
        seen = {"count": self.count, "amount_minor": self.amount_minor}
        if rule.counting is Counting.ATTEMPTS:
            seen["count"] += 1
        if rule.currency is not None and activity.currency == rule.currency:
            seen["amount_minor"] += activity.amount_minor
        if rule.counting is Counting.DISTINCT_PAYMENT_CARDS:
            cards = set(self.payment_cards)
            if activity.payment_card:
                cards.add(activity.payment_card)
            seen["count"] = len(cards)
        return seen

    def add(self, rule: Rule, activity: Activity) -> None:
        """`activity`'s row, written: what the next event's count sees of it."""
        if rule.counting is not Counting.FAILURES or activity.failed:
            self.count += 1
        if activity.currency == rule.currency and not activity.failed:
            self.amount_minor += activity.amount_minor
        if activity.payment_card is not None:
            self.payment_cards.add(activity.payment_card)


@dataclass(frozen=True)
class _Decision:
    """A flagged decision of the batch, as its review and incident name it."""

    reference: str
    event: FraudEvent
    subject: FraudSubject
    subject_key: str
    business_id: str | None
    inputs: dict[str, Any]


class PushedScreening:
    """One batch's screening of pushed redemptions. Make it with every activity the batch
    may screen (their subjects' counts are read then, in one query per rule), `screen` each
    event in the batch's order, and `write` before the batch commits."""

    def __init__(
        self, session: Session, expected: Sequence[Activity], now: datetime | None = None
    ) -> None:
        self.session = session
        self.now = now or utcnow()
        # A batch is one terminal's: one business, whose own rules apply with the platform's.
        self.business_id = next((a.business_id for a in expected), None)
        events = {a.event for a in expected}
        self.rules = {e: list(_enabled_rules(session, e, self.business_id)) for e in events}
        self.tallies: dict[tuple[str, str], _Tally] = defaultdict(_Tally)
        self._activities: list[dict[str, object]] = []
        self._decisions: list[dict[str, object]] = []
        # Open reviews by (rule, subject, business): those read from the database take
        # their hits as counts, written with one UPDATE (`write`); those this batch opens
        # are the ORM's to insert.
        self._reviews: dict[tuple[str, str, str | None], _Hits | FraudReview] = {}
        self._reviews_read: set[tuple[str, str]] = set()  # (rule, subject) pairs read
        self._expected = expected
        for rules in self.rules.values():
            for rule in rules:
                self._count(rule, {k for a in expected if (k := a.key(rule.subject)) is not None})

    def _count(self, rule: Rule, keys: Iterable[str]) -> None:
        """Each key's activity in the rule's window, from the database (what `_measure`
        reads), in one query."""
        wanted = sorted(keys)
        if not wanted:
            return
        column = _COLUMNS[rule.subject]
        where = [
            FraudActivity.event == rule.event,
            FraudActivity.at > self.now - timedelta(seconds=rule.window_seconds),
        ]
        if rule.business_id is not None:  # a business's own rule counts its activity only
            where.append(FraudActivity.business_id == rule.business_id)
        if rule.counting is Counting.FAILURES:
            where.append(FraudActivity.failed.is_(True))
        if _cap(rule) < _UNCAPPED and self.session.get_bind().dialect.name == "postgresql":
            counted = _newest(rule, column, wanted, where)
        else:
            counted = select(column, func.count(), _amount(rule, FraudActivity))
            counted = counted.where(among(self.session, column, wanted), *where).group_by(column)
        for key, count, amount_minor in self.session.execute(counted):
            tally = self.tallies[rule.id, str(key)]
            tally.count, tally.amount_minor = int(count), int(amount_minor)
        if rule.counting is Counting.DISTINCT_PAYMENT_CARDS:
            pairs = self.session.execute(
                select(column, FraudActivity.payment_card)
                .where(*where, FraudActivity.payment_card.is_not(None))
                .distinct()
            )
            for key, payment_card in pairs:
                self.tallies[rule.id, str(key)].payment_cards.add(str(payment_card))
        for key in wanted:
            self.tallies.setdefault((rule.id, key), _Tally())  # none in the window: 0

    def screen(self, activity: Activity, event_id: str) -> str | None:
        """`screen_pushed` for one event: never refuses; an enforced review opens (or adds
        to) a review, an enforced block one too and an incident; the incident's words when
        one opened."""
        flagged: list[tuple[Rule, _Decision]] = []
        if activity.event not in self.rules:  # an event the batch did not announce
            rules = _enabled_rules(self.session, activity.event, activity.business_id)
            self.rules[activity.event] = list(rules)
        for rule in self.rules[activity.event]:
            key = activity.key(rule.subject)
            if key is None:
                continue
            if (rule.id, key) not in self.tallies:
                self._count(rule, [key])  # a subject the batch did not announce
            tally = self.tallies[rule.id, key]
            seen = tally.seen(rule, activity)
            decision: dict[str, object] = {
                "reference": make_id(),
                "rule_id": rule.id,
                "event": activity.event,
                "subject": rule.subject,
                "subject_key": key,
                "business_id": activity.business_id,
                "inputs": {
                    **seen,
                    "counting": rule.counting.value,
                    "window_seconds": rule.window_seconds,
                    "max_count": rule.max_count,
                    "max_amount_minor": rule.max_amount_minor,
                    "currency": rule.currency,
                },
                "action": rule.action if _over(rule, seen) else FraudAction.ALLOW,
                "mode": rule.mode,
                "at": self.now,
            }
            self._decisions.append(decision)
            if rule.mode is RuleMode.ENFORCED and decision["action"] is not FraudAction.ALLOW:
                # The decision's fields for the review's and incident's words (not the
                # ORM model: building one per flagged event cost a tenth of a push).
                made = _Decision(
                    str(decision["reference"]),
                    activity.event,
                    rule.subject,
                    key,
                    activity.business_id,
                    cast(dict[str, Any], decision["inputs"]),
                )
                self._open_review(rule, made)
                if decision["action"] is FraudAction.BLOCK:
                    flagged.append((rule, made))
        for rule in self.rules[activity.event]:
            key = activity.key(rule.subject)
            if key is not None:
                self.tallies[rule.id, key].add(rule, activity)
        # Activity.row's columns; vars(), not asdict(), which deep-copies every field.
        self._activities.append({**vars(activity), "at": self.now})
        if not flagged or activity.business_id is None or activity.card_id is None:
            return None
        rule, blocked = flagged[0]
        detail = (
            f"Card {activity.card_id} was redeemed offline more often than the fraud rules "
            f"allow ({_reason(rule, blocked)}) The redemption stands; a review is open."
        )
        self.session.add(
            Incident(
                business_id=activity.business_id,
                kind=IncidentKind.FRAUD_FLAGGED,
                subject_id=activity.card_id,
                event_id=event_id,
                amount_minor=activity.amount_minor,
                currency=activity.currency or "",
                detail=detail,
            )
        )
        return detail

    def _open_review(self, rule: Rule, decision: _Decision) -> None:
        """As `_open_review`: the open review of this rule and subject, with one hit more;
        or a new one. The batch's open reviews are read once."""
        if (rule.id, decision.subject_key) not in self._reviews_read:
            self._read_reviews(rule, decision.subject_key)
        key = (rule.id, decision.subject_key, decision.business_id)
        review = self._reviews.get(key)
        if review is None:
            review = new_review(rule, decision)
            self.session.add(review)
            self._reviews[key] = review
            return
        if isinstance(review, _Hits):
            review.added += 1
            review.latest = (rule, decision)
        else:
            review.hits += 1
        review.decision_reference = decision.reference
        review.reason = _reason(rule, decision)

    def _read_reviews(self, rule: Rule, subject_key: str) -> None:
        """The open reviews of every (rule, subject) the batch may flag, in one query; the
        first time a subject is flagged."""
        wanted = {(rule.id, subject_key)} | {
            (r.id, key)
            for r in self.rules.get(rule.event, [])
            if r.mode is RuleMode.ENFORCED and r.action is not FraudAction.ALLOW
            for a in self._expected
            if (key := a.key(r.subject)) is not None
        }
        wanted -= self._reviews_read
        self._reviews_read |= wanted
        found = self.session.execute(
            select(
                FraudReview.id,
                FraudReview.rule_id,
                FraudReview.subject_key,
                FraudReview.business_id,
                FraudReview.decision_reference,
                FraudReview.reason,
            ).where(
                tuple_(FraudReview.rule_id, FraudReview.subject_key).in_(sorted(wanted)),
                FraudReview.status == ReviewStatus.OPEN,
            )
        )
        for review_id, rule_id, key, business_id, reference, reason in found:
            self._reviews[rule_id, key, business_id] = _Hits(review_id, reference, reason)

    def write(self) -> None:
        """Insert the batch's activity rows and decisions (one statement each), and add
        the hits to the reviews that were open (one more): to a new review where staff
        closed the one read meanwhile, as `service._open_review` does."""
        insert_rows(self.session, FraudActivity, self._activities)
        insert_rows(self.session, FraudDecision, self._decisions)
        self._activities.clear()
        self._decisions.clear()
        hits = [h for h in self._reviews.values() if isinstance(h, _Hits) and h.added]
        if hits:
            _add_hits(self.session, hits)
        for review in hits:
            review.added = 0


def _amount(rule: Rule, rows: Any) -> ColumnElement[Any]:
    """What went through in the rule's currency, of `rows` (activity rows' columns)."""
    went_through = and_(rows.currency == rule.currency, rows.failed.is_(False))
    return func.coalesce(func.sum(case((went_through, rows.amount_minor), else_=0)), 0)


def _newest(
    rule: Rule, column: Any, keys: list[str], where: list[ColumnElement[bool]]
) -> Select[Any]:
    """Each key's count and amount of its newest `_cap(rule)` rows in the window
    (PostgreSQL): past that a rule that counts has fired whatever the rest hold (`_cap`),
    so a busy till's window is not read whole for every batch it pushes."""
    wanted = func.unnest(bindparam(None, keys, type_=ARRAY(column.type))).table_valued("key")
    wanted = wanted.render_derived()
    rows = (
        select(FraudActivity.amount_minor, FraudActivity.currency, FraudActivity.failed)
        .where(column == wanted.c.key, *where)
        .order_by(FraudActivity.at.desc())
        .limit(_cap(rule))
        .lateral()
    )
    return (
        select(wanted.c.key, func.count(), _amount(rule, rows.c))
        .select_from(wanted)
        .join(rows, true())
        .group_by(wanted.c.key)
    )


class _Hits:
    """An open review's hits in this batch, and its latest decision and reason (and the
    rule and decision that made them, for a new review if it was closed meanwhile)."""

    __slots__ = ("added", "decision_reference", "id", "latest", "reason")

    def __init__(self, review_id: str, decision_reference: str, reason: str) -> None:
        self.id = review_id
        self.added = 0
        self.decision_reference = decision_reference
        self.reason = reason
        self.latest: tuple[Rule, _Decision] | None = None

    def made_by(self) -> tuple[Rule, _Decision]:
        """The rule and decision of the latest hit."""
        assert self.latest is not None, "hits are counted with their decision"
        return self.latest

    def reopened(self) -> FraudReview:
        """The review these hits open when the one they were for is closed."""
        review = new_review(*self.made_by())
        review.hits = self.added
        return review


_ADD_HITS = text(
    """
    WITH hit AS (
        SELECT * FROM unnest(CAST(:ids AS VARCHAR[]), CAST(:added AS INTEGER[]),
            CAST(:refs AS VARCHAR[]), CAST(:reasons AS TEXT[]), CAST(:new_ids AS VARCHAR[]),
            CAST(:business_ids AS VARCHAR[]), CAST(:rule_ids AS VARCHAR[]),
            CAST(:events AS VARCHAR[]), CAST(:subjects AS VARCHAR[]), CAST(:keys AS VARCHAR[]))
            AS hit(id, added, reference, reason, new_id, business_id, rule_id, event, subject,
                subject_key)
    ), still_open AS (
        UPDATE fraud_reviews SET hits = fraud_reviews.hits + hit.added,
            decision_reference = hit.reference, reason = hit.reason
        FROM hit
        WHERE fraud_reviews.id = hit.id AND fraud_reviews.status = :open
        RETURNING fraud_reviews.id
    )
    INSERT INTO fraud_reviews (id, business_id, rule_id, decision_reference, event, subject,
        subject_key, reason, hits, status, resolution, created_at)
    SELECT hit.new_id, hit.business_id, hit.rule_id, hit.reference, hit.event, hit.subject,
        hit.subject_key, hit.reason, hit.added, :open, '', :now
    FROM hit WHERE hit.id NOT IN (SELECT id FROM still_open)
    """
)


def _add_hits(session: Session, hits: Sequence[_Hits]) -> None:
    """Add each review's hits if it is still open, or open a new review with them (staff
    closed it after the batch read it). PostgreSQL: one statement with the columns as
    arrays, going with the commit; elsewhere a statement for each. The ORM's UPDATE of
    each review, with its parameters processed row by row, cost a tenth of a push."""
    if session.get_bind().dialect.name == "postgresql":
        made = [h.made_by() for h in hits]
        later(
            session,
            _ADD_HITS,
            {
                "ids": [h.id for h in hits],
                "added": [h.added for h in hits],
                "refs": [h.decision_reference for h in hits],
                "reasons": [h.reason for h in hits],
                "new_ids": [make_id() for _ in hits],
                "business_ids": [d.business_id for _, d in made],
                "rule_ids": [rule.id for rule, _ in made],
                "events": [str(d.event) for _, d in made],
                "subjects": [str(d.subject) for _, d in made],
                "keys": [d.subject_key for _, d in made],
                "open": str(ReviewStatus.OPEN),
                "now": utcnow(),
            },
        )
        return
    table = cast(Table, FraudReview.__table__)
    for h in hits:
        added = session.connection().execute(
            update(table)
            .where(table.c.id == h.id, table.c.status == ReviewStatus.OPEN)
            .values(
                hits=table.c.hits + h.added,
                decision_reference=h.decision_reference,
                reason=h.reason,
            )
        )
        if added.rowcount == 0:
            session.add(h.reopened())
