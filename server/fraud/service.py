"""Screening activity against the fraud rules, reviews, and the devices people sign in from.

`screen` counts the subject's recent activity for every enabled rule of the event, records
one decision per rule with what it counted, opens (or adds to) a review for an enforced
`review`, and raises `FraudBlocked` for an enforced `block`. Shadow rules are decided and
recorded, never acted on. A block rolls the request back, but its decisions and its activity
are the refusal's own record: they travel on the error (`DomainError.kept`) and are written
by whoever rolls back, so blocked attempts keep counting.

A redemption pushed by a terminal already happened: `screen_pushed` never refuses; an
enforced block there opens a review and an incident instead.
"""

from __future__ import annotations

import hashlib
import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import (
    ColumnElement,
    Engine,
    Executable,
    Select,
    and_,
    bindparam,
    case,
    distinct,
    func,
    literal,
    select,
    text,
    union_all,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sync.money import Money
from sync.wire import IncidentKind

from ..accounts.models import Role, User
from ..db import UtcDateTime, driver_rows, insert_rows, page_of, utcnow
from ..devices.models import Incident
from ..directory.models import Business
from ..errors import (
    CardNotFound,
    DomainError,
    FraudBlocked,
    FraudReviewClosed,
    FraudReviewNotFound,
    FraudRuleNameTaken,
    FraudRuleNeverFires,
    FraudRuleNotFound,
    Invalid,
    InvalidToken,
)
from ..ids import make_id
from ..keys.keyring import Keyring
from ..pages import PageRequest
from ..wallet import cards
from ..wallet.cards import Redemption
from ..wallet.ledger import NOWHERE, Origin
from ..wallet.tokens import PresentedCode
from ..writebehind import later
from .models import (
    ClientDevice,
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
    SignInNotice,
)

__all__ = [
    "BLOCKED_DETAIL",
    "BUSINESS_EVENTS",
    "RULES_CACHE_SECONDS",
    "Activity",
    "Client",
    "create_rule",
    "decisions",
    "devices_of",
    "notices_of",
    "redeem_at_till",
    "resolve_review",
    "review_of",
    "review_reason",
    "reviews",
    "rule_of",
    "rules",
    "screen",
    "screen_pushed",
    "signed_in",
    "update_rule",
]

BLOCKED_DETAIL = (
    "This was stopped by our fraud checks. Nothing was charged or changed. Try again later; "
    "if you think this is a mistake, contact the shop or our support and quote the reference."
)

_COLUMNS = {
    FraudSubject.CARD: FraudActivity.card_id,
    FraudSubject.PAYMENT_CARD: FraudActivity.payment_card,
    FraudSubject.CUSTOMER: FraudActivity.customer_id,
    FraudSubject.TERMINAL: FraudActivity.terminal,
    FraudSubject.ADDRESS: FraudActivity.address,
}


@dataclass(frozen=True)
class Activity:
    """One event to screen: who was involved and how much (in `currency`)."""

    event: FraudEvent
    business_id: str | None = None
    card_id: str | None = None
    payment_card: str | None = None  # `payments.payment_card_key`, never the number
    customer_id: str | None = None
    terminal: str | None = None
    address: str | None = None
    amount_minor: int = 0
    currency: str | None = None
    failed: bool = False

    def key(self, subject: FraudSubject) -> str | None:
        return {
            FraudSubject.CARD: self.card_id,
            FraudSubject.PAYMENT_CARD: self.payment_card,
            FraudSubject.CUSTOMER: self.customer_id,
            FraudSubject.TERMINAL: self.terminal,
            FraudSubject.ADDRESS: self.address,
        }[subject]

    def row(self, now: datetime, *, failed: bool | None = None) -> FraudActivity:
        return FraudActivity(
            event=self.event,
            at=now,
            business_id=self.business_id,
            card_id=self.card_id,
            payment_card=self.payment_card,
            customer_id=self.customer_id,
            terminal=self.terminal,
            address=self.address,
            amount_minor=self.amount_minor,
            currency=self.currency,
            failed=self.failed if failed is None else failed,
        )


# -- the rules, cached in each process -------------------------------------------------------

RULES_CACHE_SECONDS = 5.0
"""How long a process screens with the rules it last read. An edit through this process
takes effect at once (it forgets its copy); other workers and hosts see it within this."""


@dataclass(frozen=True)
class Rule:
    """An enabled rule as read from `fraud_rules`, kept between requests."""

    id: str
    name: str
    subject: FraudSubject
    event: FraudEvent
    counting: Counting
    window_seconds: int
    max_count: int | None
    max_amount_minor: int | None
    currency: str | None
    action: FraudAction
    mode: RuleMode
    business_id: str | None  # a business's own rule counts that business's activity only

    @classmethod
    def of(cls, rule: FraudRule) -> Rule:
        return cls(**{f.name: getattr(rule, f.name) for f in fields(cls)})


_rules_lock = threading.Lock()
# Per engine (each database its own), per business: (when read, the rules).
_rules: weakref.WeakKeyDictionary[Engine, dict[str | None, tuple[float, tuple[Rule, ...]]]] = (
    weakref.WeakKeyDictionary()
)


def _engine_of(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def _load_rules(session: Session, business_id: str | None) -> tuple[Rule, ...]:
    """The enabled rules that apply to `business_id`'s activity, by name."""
    mine = FraudRule.business_id.is_(None) | (FraudRule.business_id == business_id)
    query = select(FraudRule).where(FraudRule.enabled.is_(True), mine).order_by(FraudRule.name)
    return tuple(Rule.of(rule) for rule in session.scalars(query))


def _enabled_rules(session: Session, event: FraudEvent, business_id: str | None) -> list[Rule]:
    engine, now = _engine_of(session), time.monotonic()
    with _rules_lock:
        cached = _rules.get(engine, {}).get(business_id)
    if cached is None or now - cached[0] > RULES_CACHE_SECONDS:
        cached = (now, _load_rules(session, business_id))
        with _rules_lock:
            _rules.setdefault(engine, {})[business_id] = cached
    return [rule for rule in cached[1] if rule.event is event]


def forget_rules(session: Session) -> None:
    """Read the rules afresh on the next screening (they were just edited)."""
    with _rules_lock:
        _rules.pop(_engine_of(session), None)


# -- screening -------------------------------------------------------------------------------

Found = list[tuple[Rule, FraudDecision]]


# What a rule's window query looks like, values aside: its subject's column, whether it
# counts one business or failures only, and whether it adds up an amount in a currency.
_Shape = tuple[FraudSubject, bool, bool, bool]


def _shape(rule: Rule) -> _Shape:
    failures = rule.counting is Counting.FAILURES
    return (rule.subject, rule.business_id is not None, failures, rule.currency is None)


def _window(shape: _Shape, index: int) -> Select[Any]:
    """One rule's count of the subject's activity in its window, this event excluded (a
    failure is counted once it has failed, so a `failures` rule stops the attempt after
    the Nth). Amounts add up what went through: refused attempts count as attempts. Only
    the newest `cap_{index}` rows are read (`_cap`): a busy card's window holds thousands,
    and every one of its sales read them all. Its values are parameters named for `index`
    (`_window_values`)."""
    subject, of_a_business, failures, no_currency = shape
    where = [
        _COLUMNS[subject] == bindparam(f"key_{index}"),
        FraudActivity.event == bindparam(f"event_{index}"),
        FraudActivity.at > bindparam(f"since_{index}"),
    ]
    if of_a_business:
        where.append(FraudActivity.business_id == bindparam(f"business_{index}"))
    if failures:
        where.append(FraudActivity.failed.is_(True))
    rows = (
        select(
            FraudActivity.payment_card,
            FraudActivity.amount_minor,
            FraudActivity.currency,
            FraudActivity.failed,
        )
        .where(*where)
        .order_by(FraudActivity.at.desc())
        .limit(bindparam(f"cap_{index}"))
        .subquery()
    )
    in_currency = (
        rows.c.currency.is_(None)
        if no_currency
        else rows.c.currency == bindparam(f"currency_{index}")
    )
    amount = func.coalesce(
        func.sum(case((and_(in_currency, rows.c.failed.is_(False)), rows.c.amount_minor), else_=0)),
        0,
    )
    same_card = rows.c.payment_card == bindparam(f"card_{index}")
    this_card = case((same_card, 1), else_=0)
    return select(
        literal(index).label("rule"),
        func.count().label("count"),
        amount.label("amount"),
        func.count(distinct(rows.c.payment_card)).label("cards"),
        func.coalesce(func.max(this_card), 0).label("this_card"),
    ).select_from(rows)


_UNCAPPED = 2**62


def _cap(rule: Rule) -> int:
    """How many of the window's rows decide `rule`: one more than it allows, when it
    counts attempts or failures (past that it has fired whatever the rest hold, amounts
    included); all of them when it counts distinct payment cards or only amounts."""
    if rule.max_count is None or rule.counting is Counting.DISTINCT_PAYMENT_CARDS:
        return _UNCAPPED
    return rule.max_count + 1


def past_cap(rule: Rule) -> dict[str, int]:
    """What a decision records of a window that held `_cap(rule)` rows or more: a count
    just past the rule's limit, marked `at_least` (the rows past the cap were not read, so
    neither their number nor their amounts are known, and the rule fired either way)."""
    past = _cap(rule) + (1 if rule.counting is Counting.ATTEMPTS else 0)
    return {"count": past, "at_least": True}


def _window_values(
    rule: Rule, activity: Activity, key: str, now: datetime, index: int
) -> dict[str, Any]:
    return {
        f"key_{index}": key,
        f"event_{index}": rule.event,
        f"since_{index}": now - timedelta(seconds=rule.window_seconds),
        f"business_{index}": rule.business_id,
        f"currency_{index}": rule.currency,
        # A card is a card only when there is one (its absence matches nothing).
        f"card_{index}": activity.payment_card,
        f"cap_{index}": _cap(rule),
    }


_windows: dict[tuple[_Shape, ...], Executable] = {}


def _windows_query(shapes: tuple[_Shape, ...]) -> Executable:
    """The windows of rules shaped so, in one query, built once per set of shapes (the
    same rules screen every redemption: building it each time cost more than running
    it)."""
    query = _windows.get(shapes)
    if query is None:
        windows = [_window(shape, i) for i, shape in enumerate(shapes)]
        query = windows[0] if len(windows) == 1 else union_all(*windows)
        _windows[shapes] = query
    return query


def _measure(
    session: Session, wanted: list[tuple[Rule, Activity, str]], now: datetime
) -> list[dict[str, int]]:
    """What each (rule, activity, subject) counted, all in one query."""
    if not wanted:
        return []
    query = _windows_query(tuple(_shape(r) for r, _, _ in wanted))
    values: dict[str, Any] = {}
    for i, (r, a, k) in enumerate(wanted):
        values.update(_window_values(r, a, k, now, i))
    # Each row: the rule's index, then `_window`'s count, amount, cards and this_card.
    counted: dict[int, Any] = {row[0]: row[1:] for row in driver_rows(session, query, values)}
    measured = []
    for index, (rule, activity, _) in enumerate(wanted):
        count, amount, cards, this_card = counted[index]
        if int(count) >= _cap(rule):  # the window holds more than was read
            measured.append(past_cap(rule))
            continue
        seen = {"count": int(count), "amount_minor": int(amount)}
        if rule.counting is Counting.ATTEMPTS:
            seen["count"] += 1
        if rule.currency is not None and activity.currency == rule.currency:
            seen["amount_minor"] += activity.amount_minor
        if rule.counting is Counting.DISTINCT_PAYMENT_CARDS:
            new_card = activity.payment_card is not None and not this_card
            seen["count"] = int(cards) + int(new_card)
        measured.append(seen)
    return measured


def _over(rule: Rule, seen: dict[str, int]) -> bool:
    if rule.max_count is not None:
        reached = seen["count"] >= rule.max_count
        if reached if rule.counting is Counting.FAILURES else seen["count"] > rule.max_count:
            return True
    return rule.max_amount_minor is not None and seen.get("amount_minor", 0) > rule.max_amount_minor


def _decision(
    rule: Rule, activity: Activity, key: str, seen: dict[str, int], now: datetime
) -> FraudDecision:
    inputs = {
        **seen,
        "counting": rule.counting.value,
        "window_seconds": rule.window_seconds,
        "max_count": rule.max_count,
        "max_amount_minor": rule.max_amount_minor,
        "currency": rule.currency,
    }
    return FraudDecision(
        reference=make_id(),
        rule_id=rule.id,
        event=activity.event,
        subject=rule.subject,
        subject_key=key,
        business_id=activity.business_id,
        inputs=inputs,
        action=rule.action if _over(rule, seen) else FraudAction.ALLOW,
        mode=rule.mode,
        at=now,
    )


class _Decided(Protocol):
    """What a rule's words and its review need of a decision (a FraudDecision, or a pushed
    batch's)."""

    @property
    def inputs(self) -> dict[str, Any]: ...
    @property
    def subject_key(self) -> str: ...
    @property
    def reference(self) -> str: ...
    @property
    def event(self) -> FraudEvent: ...
    @property
    def subject(self) -> FraudSubject: ...
    @property
    def business_id(self) -> str | None: ...


# Each event in words: one, and several.
EVENT_WORDS = {
    FraudEvent.PURCHASE: ("purchase", "purchases"),
    FraudEvent.REDEMPTION_ONLINE: ("online redemption", "online redemptions"),
    FraudEvent.REDEMPTION_PUSHED: ("offline redemption", "offline redemptions"),
    FraudEvent.TRANSFER: ("transfer", "transfers"),
    FraudEvent.LOGIN: ("sign-in", "sign-ins"),
    FraudEvent.CODE_LOOKUP: ("code lookup", "code lookups"),
}
# Each subject after what was counted: "3 purchases with payment card …".
SUBJECT_WORDS = {
    FraudSubject.CARD: "of card",
    FraudSubject.PAYMENT_CARD: "with payment card",
    FraudSubject.CUSTOMER: "by customer",
    FraudSubject.TERMINAL: "at terminal",
    FraudSubject.ADDRESS: "from address",
}


def review_reason(rule: Rule, decision: _Decided) -> str:
    """Why the rule fired on the decision's subject, in a person's words."""
    seen = decision.inputs
    one, several = EVENT_WORDS[rule.event]
    at_least = bool(seen.get("at_least"))
    counted = f"more than {rule.max_count}" if at_least else str(seen["count"])
    events = one if counted == "1" else several
    what = {
        Counting.ATTEMPTS: f"{counted} {events}",
        Counting.FAILURES: f"{counted} failed {events}",
        Counting.DISTINCT_PAYMENT_CARDS: f"{seen['count']} different payment cards",
    }[rule.counting]
    if rule.currency is not None and rule.max_amount_minor is not None and "amount_minor" in seen:
        what += f" ({seen['amount_minor']} minor units of {rule.currency})"
    limits = [f"at most {rule.max_count}"] if rule.max_count is not None else []
    if rule.max_amount_minor is not None:
        limits.append(f"at most {rule.max_amount_minor} minor units")
    return (
        f"{what} {SUBJECT_WORDS[rule.subject]} {decision.subject_key} within "
        f"{rule.window_seconds} seconds; rule '{rule.name}' allows {' and '.join(limits)}."
    )


def review_hits(rule: Rule, decision: _Decided, hits: int) -> dict[str, Any]:
    """`hits` of `rule` on `decision`'s subject, the latest being `decision`, for
    `hit_or_open`."""
    return {
        "id": make_id(),
        "business_id": decision.business_id,
        "rule_id": rule.id,
        "reference": decision.reference,
        "event": str(decision.event),
        "subject": str(decision.subject),
        "subject_key": decision.subject_key,
        "reason": review_reason(rule, decision),
        "hits": hits,
    }


def hit_or_open(session: Session, reviews: Sequence[dict[str, Any]]) -> None:
    """Add each one's hits to the open review of its rule and subject (and business), or
    open one with them: one statement, so hits that come at once, in two transactions that
    each found no open review, add to one review (the unique index `uq_fraud_reviews_open`;
    the second waits for the first). On PostgreSQL it goes with the commit (`writebehind`),
    many reviews as one statement."""
    now = utcnow()
    # One row a review (one statement may not touch a row twice: the hits add up, the
    # latest decision stays), in one order everywhere (two transactions adding to the same
    # reviews never wait for each other in a circle).
    by_review: dict[tuple[str, str, str], dict[str, Any]] = {}
    for review in reviews:
        key = (review["rule_id"], review["subject_key"], review["business_id"] or "")
        earlier = by_review.get(key)
        by_review[key] = (
            review if earlier is None else {**review, "hits": earlier["hits"] + review["hits"]}
        )
    ordered = [by_review[key] for key in sorted(by_review)]
    if len(ordered) > 1 and session.get_bind().dialect.name == "postgresql":
        columns = {name: [r[name] for r in ordered] for name in _REVIEW_COLUMNS}
        later(session, _HITS_OR_OPEN, {**columns, "now": now})
        return
    for review in ordered:
        later(session, _HIT_OR_OPEN, {**review, "now": now})


# The open review of a rule and subject is unique (`FraudReview`'s partial index): a new
# one takes its place, or the hits go to it. Status 'open' is `ReviewStatus.OPEN`.
_UPSERT_SQL = """
    INSERT INTO fraud_reviews (id, business_id, rule_id, decision_reference, event, subject,
        subject_key, reason, hits, status, resolution, created_at)
    {rows}
    ON CONFLICT (rule_id, subject_key, (coalesce(business_id, ''))) WHERE status = 'open'
    DO UPDATE SET hits = fraud_reviews.hits + excluded.hits,
        decision_reference = excluded.decision_reference, reason = excluded.reason
"""
_REVIEW_COLUMNS = (  # of `review_hits`, in the table's order
    "id",
    "business_id",
    "rule_id",
    "reference",
    "event",
    "subject",
    "subject_key",
    "reason",
    "hits",
)
_HIT_OR_OPEN = text(
    _UPSERT_SQL.format(
        rows="VALUES (:id, :business_id, :rule_id, :reference, :event, :subject, "
        ":subject_key, :reason, :hits, 'open', '', :now)"
    )
).bindparams(bindparam("now", type_=UtcDateTime()))
_HITS_OR_OPEN = text(
    _UPSERT_SQL.format(
        rows="SELECT review.*, 'open', '', :now FROM unnest(CAST(:id AS VARCHAR[]), "
        "CAST(:business_id AS VARCHAR[]), CAST(:rule_id AS VARCHAR[]), "
        "CAST(:reference AS VARCHAR[]), CAST(:event AS VARCHAR[]), CAST(:subject AS VARCHAR[]), "
        "CAST(:subject_key AS VARCHAR[]), CAST(:reason AS TEXT[]), CAST(:hits AS INTEGER[])"
        ") AS review"
    )
)


def _evaluate(session: Session, activities: Sequence[Activity], now: datetime) -> list[Found]:
    """Each activity's decisions, one per enabled rule that has a subject in it; the
    windows of all of them counted in one query."""
    wanted: list[tuple[Rule, Activity, str]] = []
    owner: list[int] = []
    for position, activity in enumerate(activities):
        for rule in _enabled_rules(session, activity.event, activity.business_id):
            key = activity.key(rule.subject)
            if key is not None:
                wanted.append((rule, activity, key))
                owner.append(position)
    found: list[Found] = [[] for _ in activities]
    for position, (rule, activity, key), seen in zip(
        owner, wanted, _measure(session, wanted, now), strict=True
    ):
        found[position].append((rule, _decision(rule, activity, key, seen, now)))
    return found


def _enforced(found: Found, action: FraudAction) -> Found:
    return [(r, d) for r, d in found if d.action is action and d.mode is RuleMode.ENFORCED]


def _refuse_if_blocked(activity: Activity, found: Found, now: datetime) -> None:
    """`FraudBlocked` if an enforced rule blocks `activity`; the attempt, failed, and its
    decisions travel on the error as the refusal's own record."""
    blocking = _enforced(found, FraudAction.BLOCK)
    if blocking:
        refusal = FraudBlocked(BLOCKED_DETAIL, reference=blocking[0][1].reference)
        refusal.kept.extend([activity.row(now, failed=True), *(d for _, d in found)])
        raise refusal


def _activity_values(activity: Activity, now: datetime) -> dict[str, object]:
    return {
        "event": activity.event,
        "at": now,
        "business_id": activity.business_id,
        "card_id": activity.card_id,
        "payment_card": activity.payment_card,
        "customer_id": activity.customer_id,
        "terminal": activity.terminal,
        "address": activity.address,
        "amount_minor": activity.amount_minor,
        "currency": activity.currency,
        "failed": activity.failed,
    }


def _decision_values(decision: FraudDecision) -> dict[str, object]:
    return {
        "reference": decision.reference,
        "rule_id": decision.rule_id,
        "event": decision.event,
        "subject": decision.subject,
        "subject_key": decision.subject_key,
        "business_id": decision.business_id,
        "inputs": decision.inputs,
        "action": decision.action,
        "mode": decision.mode,
        "at": decision.at,
    }


def _record(
    session: Session, screened: Sequence[tuple[Activity, Found]], now: datetime, *, all_: bool
) -> None:
    """Write the activities and their decisions (one multi-row INSERT each), and add a hit
    to the open review of each enforced `review` (every enforced flag when `all_`), or open
    one."""
    # Rows named in full (not the ORM's bulk insert, which splits rows by which values are
    # None), written with the commit: nothing reads them back.
    activities = [_activity_values(a, now) for a, _ in screened]
    insert_rows(session, FraudActivity, activities, later=True)
    decisions = [_decision_values(d) for _, found in screened for _, d in found]
    insert_rows(session, FraudDecision, decisions, later=True)
    flagged = [
        review_hits(rule, decision, 1)
        for _, found in screened
        for rule, decision in _enforced(found, FraudAction.REVIEW)
        + (_enforced(found, FraudAction.BLOCK) if all_ else [])
    ]
    if flagged:
        hit_or_open(session, flagged)


def screen(session: Session, activity: Activity, now: datetime | None = None) -> None:
    """Screen `activity` in the caller's transaction and record it; `FraudBlocked` if an
    enforced rule blocks it (its record kept on the error)."""
    now = now or utcnow()
    (found,) = _evaluate(session, [activity], now)
    _refuse_if_blocked(activity, found, now)
    _record(session, [(activity, found)], now, all_=False)


def screen_pushed(
    session: Session, activity: Activity, event_id: str, now: datetime | None = None
) -> str | None:
    """Screen a redemption a terminal already made offline. Never refuses: an enforced
    block or review opens a review, and a block an incident too; what to tell the terminal
    when one did."""
    now = now or utcnow()
    (found,) = _evaluate(session, [activity], now)
    _record(session, [(activity, found)], now, all_=True)
    flagged = _enforced(found, FraudAction.BLOCK)
    if not flagged or activity.business_id is None or activity.card_id is None:
        return None
    rule, decision = flagged[0]
    detail = (
        f"Card {activity.card_id} was redeemed offline more often than the fraud rules "
        f"allow ({review_reason(rule, decision)}) The redemption stands; a review is open."
    )
    session.add(
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


def redeem_at_till(
    session: Session,
    keyring: Keyring,
    business: Business,
    *,
    terminal: str,
    address: str,
    token: str | PresentedCode | None,
    card_id: str | None,
    amount_minor: int,
    memo: str,
    origin: Origin = NOWHERE,
) -> Redemption:
    """A till's online redemption (at `origin`), screened: `terminal`'s code lookup (a till past its
    failed lookups is stopped, whatever code it tries next; a failed lookup is kept as
    one) and the redemption per card. A cashier's app is a till of its own
    (`user:<id>`), a paired terminal another (`device:<id>`).

    Both windows are counted in one query once the card is known, and both activities
    with their decisions written together after the ledger posting."""
    now = utcnow()
    lookup = Activity(
        FraudEvent.CODE_LOOKUP, business_id=business.id, terminal=terminal, address=address
    )
    try:
        card = cards.find_card(session, keyring, business, token, card_id, now)
    except DomainError as refusal:
        (found,) = _evaluate(session, [lookup], now)
        _refuse_if_blocked(lookup, found, now)
        if isinstance(refusal, CardNotFound | InvalidToken):
            refusal.kept.extend([lookup.row(now, failed=True), *(d for _, d in found)])
        raise
    amount = Money.of(amount_minor, card.currency)
    redemption = Activity(
        FraudEvent.REDEMPTION_ONLINE,
        business_id=business.id,
        card_id=card.id,
        terminal=terminal,
        address=address,
        amount_minor=amount.minor,
        currency=amount.currency.code,
    )
    looked_up, redeemed = _evaluate(session, [lookup, redemption], now)
    _refuse_if_blocked(lookup, looked_up, now)
    operation_id, balance_after = cards.redeem(session, card, amount, memo, origin)
    _refuse_if_blocked(redemption, redeemed, now)
    _record(session, [(lookup, looked_up), (redemption, redeemed)], now, all_=False)
    return Redemption(operation_id, card.id, amount, balance_after)


# -- rules -----------------------------------------------------------------------------------


# Events that happen at a business: the only ones a business's own rules can apply to.
BUSINESS_EVENTS = frozenset(FraudEvent) - {FraudEvent.LOGIN}

# Whom each event is screened per: the subjects the `Activity` of each call site carries
# (purchases: wallet, community; redemptions: `redeem_at_till`, devices; transfers: wallet,
# community; sign-ins: `signed_in`; lookups: `redeem_at_till`). A rule per anything else
# would never find its subject.
SUBJECTS_OF = {
    FraudEvent.PURCHASE: {FraudSubject.PAYMENT_CARD, FraudSubject.CUSTOMER, FraudSubject.ADDRESS},
    FraudEvent.REDEMPTION_ONLINE: {FraudSubject.CARD, FraudSubject.TERMINAL, FraudSubject.ADDRESS},
    FraudEvent.REDEMPTION_PUSHED: {FraudSubject.CARD, FraudSubject.TERMINAL},
    FraudEvent.TRANSFER: {FraudSubject.CARD, FraudSubject.CUSTOMER, FraudSubject.ADDRESS},
    FraudEvent.LOGIN: {FraudSubject.CUSTOMER, FraudSubject.ADDRESS},
    FraudEvent.CODE_LOOKUP: {FraudSubject.TERMINAL, FraudSubject.ADDRESS},
}
# Events that move money, so have an amount.
WITH_AMOUNT = frozenset(FraudEvent) - {FraudEvent.LOGIN, FraudEvent.CODE_LOOKUP}


def _listed(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _carrying(subject: FraudSubject) -> str:
    """ "only purchases and transfers carry a customer"."""
    events = [EVENT_WORDS[e][1] for e in FraudEvent if subject in SUBJECTS_OF[e]]
    return f"only {_listed(events)} carry a {subject.value.replace('_', ' ')}"


def _can_fire(session: Session, rule: FraudRule) -> None:
    """Refuse a rule its event could never set off, naming the field that does not fit."""
    event = EVENT_WORDS[rule.event][1]
    never = f"a rule on {event} would never fire"
    if rule.counting is Counting.FAILURES and rule.event is not FraudEvent.CODE_LOOKUP:
        raise FraudRuleNeverFires(
            "body.counting",
            f"counting failures counts code lookups that found no card, and only code lookups "
            f"fail: {never}. Count attempts, or make it a code_lookup rule.",
        )
    if rule.counting is Counting.DISTINCT_PAYMENT_CARDS and rule.event is not FraudEvent.PURCHASE:
        raise FraudRuleNeverFires(
            "body.counting",
            f"counting distinct_payment_cards counts the payment cards used, and "
            f"{_carrying(FraudSubject.PAYMENT_CARD)}: {never}.",
        )
    if rule.subject not in SUBJECTS_OF[rule.event]:
        raise FraudRuleNeverFires(
            "body.subject", f"subject {rule.subject.value}: {_carrying(rule.subject)}: {never}."
        )
    if rule.max_amount_minor is not None and rule.event not in WITH_AMOUNT:
        raise FraudRuleNeverFires(
            "body.max_amount_minor",
            f"{event} carry no amount, so the limit would never be reached: bound max_count.",
        )
    if rule.business_id is not None and rule.currency is not None:
        with session.no_autoflush:
            business = session.get_one(Business, rule.business_id)
        if rule.currency != business.currency:
            raise FraudRuleNeverFires(
                "body.currency",
                f"{business.name} sells in {business.currency}: an amount in {rule.currency} "
                f"never goes through there. Send currency {business.currency}.",
            )


def rules(
    session: Session, business_id: str | None, asked: PageRequest
) -> tuple[list[FraudRule], int]:
    """One page of the platform's rules (None) or a business's own, by name, and how many."""
    query = select(FraudRule).where(_of(business_id))
    return page_of(session, query.order_by(FraudRule.name, FraudRule.id), asked)


def _of(business_id: str | None) -> ColumnElement[bool]:
    if business_id is None:
        return FraudRule.business_id.is_(None)
    return FraudRule.business_id == business_id


def rule_of(session: Session, business_id: str | None, rule_id: str) -> FraudRule:
    """The platform's rule (None), or one of the business's own: another's is not found."""
    rule = session.get(FraudRule, rule_id)
    if rule is None or rule.business_id != business_id:
        raise FraudRuleNotFound(f"There is no fraud rule {rule_id!r} here: list the rules for ids.")
    return rule


def _name_taken(name: object) -> FraudRuleNameTaken:
    return FraudRuleNameTaken(f"A fraud rule is already called {name!r}: choose another name.")


def _name_free(session: Session, rule: FraudRule) -> None:
    """Refuse a name another of the same owner's rules has, also when that rule was made a
    moment ago by a request running at the same time (the unique index says so)."""
    with session.no_autoflush:
        taken = session.scalar(
            select(FraudRule.id).where(
                _of(rule.business_id), FraudRule.name == rule.name, FraudRule.id != rule.id
            )
        )
    if taken is not None:
        raise _name_taken(rule.name)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise _name_taken(rule.name) from None


def create_rule(session: Session, business_id: str | None, **values: object) -> FraudRule:
    """A rule of the platform (None) or of a business: a business's applies to what
    happens there, so never to sign-ins."""
    if business_id is not None and values.get("event") not in BUSINESS_EVENTS:
        raise Invalid(
            "A business's own rules apply to what happens at the business: purchases, "
            "redemptions, transfers and code lookups. Sign-ins are screened by the platform."
        )
    rule = FraudRule(id=make_id(), business_id=business_id, **values)
    _can_fire(session, rule)
    session.add(rule)
    _name_free(session, rule)
    forget_rules(session)
    return rule


def update_rule(
    session: Session, business_id: str | None, rule_id: str, **changes: object
) -> FraudRule:
    rule = rule_of(session, business_id, rule_id)
    with session.no_autoflush:
        for name, value in changes.items():
            setattr(rule, name, value)
        _can_fire(session, rule)
    if rule.max_count is None and rule.max_amount_minor is None:
        raise Invalid("A rule needs max_count, max_amount_minor or both: keep one of them.")
    if rule.max_amount_minor is not None and rule.currency is None:
        raise Invalid("max_amount_minor needs its currency: send currency too.")
    if rule.counting is Counting.DISTINCT_PAYMENT_CARDS and rule.max_count is None:
        raise Invalid("A rule counting distinct payment cards needs max_count.")
    rule.updated_at = utcnow()
    _name_free(session, rule)
    forget_rules(session)
    return rule


def decisions(
    session: Session, asked: PageRequest, *, rule_id: str | None, flagged_only: bool
) -> tuple[list[FraudDecision], int]:
    """One page of decisions, the latest first, and how many; `flagged_only`: those that did
    not simply allow."""
    query = select(FraudDecision)
    if rule_id is not None:
        query = query.where(FraudDecision.rule_id == rule_id)
    if flagged_only:
        query = query.where(FraudDecision.action != FraudAction.ALLOW)
    return page_of(session, query.order_by(FraudDecision.id.desc()), asked)


# -- reviews ---------------------------------------------------------------------------------


def reviews(
    session: Session, business_id: str | None, status: ReviewStatus | None, asked: PageRequest
) -> tuple[list[FraudReview], int]:
    """One page of a business's reviews, or (None) of every review on the platform; oldest
    first; and how many."""
    query = select(FraudReview)
    if business_id is not None:
        query = query.where(FraudReview.business_id == business_id)
    if status is not None:
        query = query.where(FraudReview.status == status)
    return page_of(session, query.order_by(FraudReview.created_at, FraudReview.id), asked)


def review_of(session: Session, business_id: str | None, review_id: str) -> FraudReview:
    """The review; of `business_id` unless None (an admin's view of the platform)."""
    review = session.get(FraudReview, review_id)
    if review is None or (business_id is not None and review.business_id != business_id):
        raise FraudReviewNotFound(f"There is no review {review_id!r} here: list the reviews.")
    return review


def resolve_review(
    session: Session, review: FraudReview, by: User, status: ReviewStatus, resolution: str
) -> FraudReview:
    """Close an open review (cleared or confirmed). A closed one is left as it was: the same
    resolution again answers it as it stands, another is refused (`FraudReviewClosed`)."""
    session.refresh(review, with_for_update=True)  # two resolving at once: one closes it
    if review.status is ReviewStatus.OPEN:
        review.status = status
        review.resolution = resolution
        review.resolved_by = by.id
        review.resolved_at = utcnow()
        session.flush()
        return review
    if (review.status, review.resolution) == (status, resolution):
        return review
    when = f" on {review.resolved_at:%d %b %Y at %H:%M} UTC" if review.resolved_at else ""
    raise FraudReviewClosed(
        f"This review was already resolved{when}: {review.status.value}, "
        f"“{review.resolution}”. Nothing changed; it stays as it was."
    )


# -- the devices people sign in from ---------------------------------------------------------


@dataclass(frozen=True)
class Client:
    """Where a request came from: an app's install id, its user agent, its address."""

    install_id: str | None
    user_agent: str
    address: str

    @property
    def device_key(self) -> str:
        if self.install_id:
            return "install:" + self.install_id
        return "agent:" + hashlib.sha256(self.user_agent.encode()).hexdigest()[:64]


def signed_in(session: Session, user: User, client: Client, now: datetime | None = None) -> None:
    """A correct password: screen the sign-in (`FraudBlocked` if a rule blocks it), note
    the device, and tell a vendor owner about a device not seen before (not their first)."""
    now = now or utcnow()
    screen(
        session,
        Activity(FraudEvent.LOGIN, customer_id=user.id, address=client.address),
        now,
    )
    this_device = select(ClientDevice).where(
        ClientDevice.user_id == user.id, ClientDevice.device_key == client.device_key
    )
    device = session.scalar(this_device)
    if device is None:
        known = session.scalar(select(ClientDevice.id).where(ClientDevice.user_id == user.id))
        device = ClientDevice(
            user_id=user.id,
            device_key=client.device_key,
            install_id=client.install_id,
            user_agent=client.user_agent,
            address=client.address,
            first_seen_at=now,
            last_seen_at=now,
        )
        try:
            with session.begin_nested():
                session.add(device)
        except IntegrityError:  # the same device's other sign-in, at this very moment
            device = session.scalar(this_device)
            assert device is not None
        else:
            _tell_of_new_device(session, user, client, device, known, now)
            return
    device.sign_ins = ClientDevice.sign_ins + 1  # in SQL: sign-ins at once all count
    device.last_seen_at, device.address = now, client.address


def _tell_of_new_device(
    session: Session,
    user: User,
    client: Client,
    device: ClientDevice,
    known: int | None,
    now: datetime,
) -> None:
    if known is not None and user.role is Role.VENDOR_OWNER:
        agent = client.user_agent or "no user agent"
        session.add(
            SignInNotice(
                user_id=user.id,
                device_id=device.id,
                detail=(
                    f"Your account was signed in from a new device ({agent}, address "
                    f"{client.address}) on {now:%d %B %Y at %H:%M} UTC. If that was not you, "
                    "change your password."
                ),
                created_at=now,
            )
        )


def devices_of(session: Session, user: User, asked: PageRequest) -> tuple[list[ClientDevice], int]:
    """One page of the devices the account signed in from, last seen first, and how many."""
    query = select(ClientDevice).where(ClientDevice.user_id == user.id)
    order = (ClientDevice.last_seen_at.desc(), ClientDevice.id.desc())
    return page_of(session, query.order_by(*order), asked)


def notices_of(session: Session, user: User, asked: PageRequest) -> tuple[list[SignInNotice], int]:
    """One page of the account's sign-in notices, newest first, and how many."""
    query = select(SignInNotice).where(SignInNotice.user_id == user.id)
    order = (SignInNotice.created_at.desc(), SignInNotice.id)
    return page_of(session, query.order_by(*order), asked)
