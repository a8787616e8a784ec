"""Screening a terminal's pushed batch at once: the same rules, counts and outcomes as
`service.screen_pushed` called for each event in turn, in a few statements for the batch.

Event by event, screening cost two or three queries (the rules, each rule's count of the
subject's recent activity, the open review) and flushed everything before them: the push's
biggest cost. Here the rules are read once, each rule's counts for every subject the batch
names come from one grouped query, and each event's count is that plus the batch's events
before it (kept in memory, as the database would have counted them). The activity rows and
decisions are written with one INSERT each, and the hits on reviews with one more (each
rule's open review on a subject gets them, or is opened with them).
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
    and_,
    bindparam,
    case,
    func,
    select,
    true,
)
from sqlalchemy.orm import Session

from sync.wire import IncidentKind

from ..db import among, insert_rows, utcnow
from ..devices.models import Incident
from ..ids import make_id
from .models import (
    Counting,
    FraudAction,
    FraudActivity,
    FraudDecision,
    FraudEvent,
    FraudSubject,
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
    hit_or_open,
    past_cap,
    review_hits,
    review_reason,
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
        # The batch's hits on reviews, added up per review when the batch is written
        # (`write`, `service.hit_or_open`).
        self._hits: list[dict[str, Any]] = []
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
            f"allow ({review_reason(rule, blocked)}) The redemption stands; a review is open."
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
        """As `service._record`: a hit of the rule on the subject's open review, or one
        opening it, written with the batch (`hit_or_open` adds up a review's hits)."""
        self._hits.append(review_hits(rule, decision, 1))

    def write(self) -> None:
        """Insert the batch's activity rows and decisions (one statement each), and add
        the hits to the open reviews or open them (one more), as `service._record`
        does."""
        insert_rows(self.session, FraudActivity, self._activities)
        insert_rows(self.session, FraudDecision, self._decisions)
        self._activities.clear()
        self._decisions.clear()
        if self._hits:
            hit_or_open(self.session, self._hits)
        self._hits.clear()


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
