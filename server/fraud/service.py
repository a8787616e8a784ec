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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, case, func, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sync.wire import IncidentKind

from ..accounts.models import Role, User
from ..db import utcnow
from ..devices.models import Incident
from ..errors import (
    CardNotFound,
    FraudBlocked,
    FraudReviewNotFound,
    FraudRuleNameTaken,
    FraudRuleNotFound,
    Invalid,
    InvalidToken,
)
from ..ids import make_id
from ..wallet.cards import Redemption
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
    "Activity",
    "Client",
    "Screening",
    "create_rule",
    "decisions",
    "devices_of",
    "notices_of",
    "resolve_review",
    "review_of",
    "reviews",
    "rule_of",
    "rules",
    "screen",
    "screen_pushed",
    "screen_till_redemption",
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


@dataclass
class Screening:
    """What screening one activity wrote: its activity row and the rules' decisions."""

    activity: Activity
    at: datetime
    decisions: list[FraudDecision] = field(default_factory=list)

    def keep_as_failed(self, refusal: CardNotFound | InvalidToken) -> None:
        """The activity failed (the request is refused and rolls back): keep it, failed,
        with its decisions, as the refusal's record."""
        refusal.kept.append(self.activity.row(self.at, failed=True))
        refusal.kept.extend(_copy(d) for d in self.decisions)


def _copy(decision: FraudDecision) -> FraudDecision:
    columns = inspect(FraudDecision).columns.keys()
    return FraudDecision(**{c: getattr(decision, c) for c in columns if c != "id"})


def _enabled_rules(
    session: Session, event: FraudEvent, business_id: str | None
) -> Sequence[FraudRule]:
    """The platform's enabled rules for `event`, and the business's own."""
    mine = FraudRule.business_id.is_(None) | (FraudRule.business_id == business_id)
    query = select(FraudRule).where(FraudRule.event == event, FraudRule.enabled.is_(True), mine)
    return session.scalars(query.order_by(FraudRule.name)).all()


def _measure(
    session: Session, rule: FraudRule, activity: Activity, key: str, now: datetime
) -> dict[str, int]:
    """The subject's activity in the rule's window, this event included (a failure is
    counted once it has failed, so a `failures` rule stops the attempt after the Nth).
    Amounts add up what went through: refused attempts count as attempts, not as money.
    A business's own rule counts activity at that business only."""
    since = now - timedelta(seconds=rule.window_seconds)
    where = [
        _COLUMNS[rule.subject] == key,
        FraudActivity.event == rule.event,
        FraudActivity.at > since,
    ]
    if rule.business_id is not None:
        where.append(FraudActivity.business_id == rule.business_id)
    if rule.counting is Counting.FAILURES:
        where.append(FraudActivity.failed.is_(True))
    amount = func.coalesce(
        func.sum(
            case(
                (
                    and_(FraudActivity.currency == rule.currency, FraudActivity.failed.is_(False)),
                    FraudActivity.amount_minor,
                ),
                else_=0,
            )
        ),
        0,
    )
    count, amount_minor = session.execute(select(func.count(), amount).where(*where)).one()
    seen = {"count": int(count), "amount_minor": int(amount_minor)}
    if rule.counting is Counting.ATTEMPTS:
        seen["count"] += 1
    if rule.currency is not None and activity.currency == rule.currency:
        seen["amount_minor"] += activity.amount_minor
    if rule.counting is Counting.DISTINCT_PAYMENT_CARDS:
        cards = set(
            session.scalars(
                select(FraudActivity.payment_card)
                .where(*where, FraudActivity.payment_card.is_not(None))
                .distinct()
            )
        )
        if activity.payment_card:
            cards.add(activity.payment_card)
        seen["count"] = len(cards)
    return seen


def _over(rule: FraudRule, seen: dict[str, int]) -> bool:
    if rule.max_count is not None:
        reached = seen["count"] >= rule.max_count
        if reached if rule.counting is Counting.FAILURES else seen["count"] > rule.max_count:
            return True
    return rule.max_amount_minor is not None and seen["amount_minor"] > rule.max_amount_minor


def _decide(
    session: Session, rule: FraudRule, activity: Activity, key: str, now: datetime
) -> FraudDecision:
    seen = _measure(session, rule, activity, key, now)
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


def _reason(rule: FraudRule, decision: FraudDecision) -> str:
    seen = decision.inputs
    what = {
        Counting.ATTEMPTS: f"{seen['count']} {rule.event.value.replace('_', ' ')}s",
        Counting.FAILURES: f"{seen['count']} failed {rule.event.value.replace('_', ' ')}s",
        Counting.DISTINCT_PAYMENT_CARDS: f"{seen['count']} different payment cards",
    }[rule.counting]
    if rule.currency is not None and rule.max_amount_minor is not None:
        what += f" ({seen['amount_minor']} minor units of {rule.currency})"
    limits = [f"at most {rule.max_count}"] if rule.max_count is not None else []
    if rule.max_amount_minor is not None:
        limits.append(f"at most {rule.max_amount_minor} minor units")
    return (
        f"{what} by {rule.subject.value.replace('_', ' ')} {decision.subject_key} within "
        f"{rule.window_seconds} seconds; rule '{rule.name}' allows {' and '.join(limits)}."
    )


def _open_review(session: Session, rule: FraudRule, decision: FraudDecision) -> FraudReview:
    """The open review of this rule and subject, with one hit more; or a new one."""
    review = session.scalar(
        select(FraudReview).where(
            FraudReview.rule_id == rule.id,
            FraudReview.subject_key == decision.subject_key,
            FraudReview.business_id == decision.business_id
            if decision.business_id is not None
            else FraudReview.business_id.is_(None),
            FraudReview.status == ReviewStatus.OPEN,
        )
    )
    if review is None:
        review = FraudReview(
            business_id=decision.business_id,
            rule_id=rule.id,
            decision_reference=decision.reference,
            event=decision.event,
            subject=decision.subject,
            subject_key=decision.subject_key,
            reason=_reason(rule, decision),
            hits=1,
        )
        session.add(review)
    else:
        review.hits += 1
        review.decision_reference = decision.reference
        review.reason = _reason(rule, decision)
    return review


def _evaluate(
    session: Session, activity: Activity, now: datetime
) -> list[tuple[FraudRule, FraudDecision]]:
    found = []
    for rule in _enabled_rules(session, activity.event, activity.business_id):
        key = activity.key(rule.subject)
        if key is not None:
            found.append((rule, _decide(session, rule, activity, key, now)))
    return found


def _enforced(
    found: list[tuple[FraudRule, FraudDecision]], action: FraudAction
) -> list[tuple[FraudRule, FraudDecision]]:
    return [(r, d) for r, d in found if d.action is action and d.mode is RuleMode.ENFORCED]


def screen(session: Session, activity: Activity, now: datetime | None = None) -> Screening:
    """Screen `activity` in the caller's transaction; `FraudBlocked` if an enforced rule
    blocks it (its record kept on the error), else what was recorded."""
    now = now or utcnow()
    found = _evaluate(session, activity, now)
    decisions = [d for _, d in found]
    blocking = _enforced(found, FraudAction.BLOCK)
    if blocking:
        refusal = FraudBlocked(BLOCKED_DETAIL, reference=blocking[0][1].reference)
        refusal.kept.extend([activity.row(now, failed=True), *decisions])
        raise refusal
    session.add(activity.row(now))
    session.add_all(decisions)
    for rule, decision in _enforced(found, FraudAction.REVIEW):
        _open_review(session, rule, decision)
    return Screening(activity, now, decisions)


def screen_pushed(
    session: Session, activity: Activity, event_id: str, now: datetime | None = None
) -> str | None:
    """Screen a redemption a terminal already made offline. Never refuses: an enforced
    block or review opens a review, and a block an incident too; what to tell the terminal
    when one did."""
    now = now or utcnow()
    found = _evaluate(session, activity, now)
    session.add(activity.row(now))
    session.add_all(d for _, d in found)
    flagged = _enforced(found, FraudAction.BLOCK)
    for rule, decision in [*_enforced(found, FraudAction.REVIEW), *flagged]:
        _open_review(session, rule, decision)
    if not flagged or activity.business_id is None or activity.card_id is None:
        return None
    rule, decision = flagged[0]
    detail = (
        f"Card {activity.card_id} was redeemed offline more often than the fraud rules "
        f"allow ({_reason(rule, decision)}) The redemption stands; a review is open."
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


def screen_till_redemption(
    session: Session, till: Activity, redeem: Callable[[], Redemption]
) -> Redemption:
    """A till's online redemption: the code lookup is screened first (a till past its
    failed lookups is stopped before it tries another code), a failed lookup is kept as
    one, and the redemption is screened per card once the code names one."""
    lookup = screen(session, till)
    try:
        redeemed = redeem()
    except (CardNotFound, InvalidToken) as refusal:
        lookup.keep_as_failed(refusal)
        raise
    screen(
        session,
        Activity(
            FraudEvent.REDEMPTION_ONLINE,
            business_id=till.business_id,
            card_id=redeemed.card_id,
            terminal=till.terminal,
            address=till.address,
            amount_minor=redeemed.amount.minor,
            currency=redeemed.amount.currency.code,
        ),
    )
    return redeemed


# -- rules -----------------------------------------------------------------------------------


# Events that happen at a business: the only ones a business's own rules can apply to.
BUSINESS_EVENTS = frozenset(FraudEvent) - {FraudEvent.LOGIN}


def rules(session: Session, business_id: str | None) -> Sequence[FraudRule]:
    """The platform's rules (None), or a business's own."""
    query = select(FraudRule).where(_of(business_id)).order_by(FraudRule.name)
    return session.scalars(query).all()


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
    session.add(rule)
    _name_free(session, rule)
    return rule


def update_rule(
    session: Session, business_id: str | None, rule_id: str, **changes: object
) -> FraudRule:
    rule = rule_of(session, business_id, rule_id)
    for name, value in changes.items():
        setattr(rule, name, value)
    if rule.max_count is None and rule.max_amount_minor is None:
        raise Invalid("A rule needs max_count, max_amount_minor or both: keep one of them.")
    if rule.max_amount_minor is not None and rule.currency is None:
        raise Invalid("max_amount_minor needs its currency: send currency too.")
    if rule.counting is Counting.DISTINCT_PAYMENT_CARDS and rule.max_count is None:
        raise Invalid("A rule counting distinct payment cards needs max_count.")
    rule.updated_at = utcnow()
    _name_free(session, rule)
    return rule


def decisions(
    session: Session, *, rule_id: str | None, flagged_only: bool, limit: int
) -> Sequence[FraudDecision]:
    """The latest decisions first; `flagged_only`: those that did not simply allow."""
    query = select(FraudDecision).order_by(FraudDecision.id.desc()).limit(limit)
    if rule_id is not None:
        query = query.where(FraudDecision.rule_id == rule_id)
    if flagged_only:
        query = query.where(FraudDecision.action != FraudAction.ALLOW)
    return session.scalars(query).all()


# -- reviews ---------------------------------------------------------------------------------


def reviews(
    session: Session, business_id: str | None, status: ReviewStatus | None
) -> Sequence[FraudReview]:
    """A business's reviews, or (None) every review on the platform; oldest first."""
    query = select(FraudReview).order_by(FraudReview.created_at, FraudReview.id)
    if business_id is not None:
        query = query.where(FraudReview.business_id == business_id)
    if status is not None:
        query = query.where(FraudReview.status == status)
    return session.scalars(query).all()


def review_of(session: Session, business_id: str | None, review_id: str) -> FraudReview:
    """The review; of `business_id` unless None (an admin's view of the platform)."""
    review = session.get(FraudReview, review_id)
    if review is None or (business_id is not None and review.business_id != business_id):
        raise FraudReviewNotFound(f"There is no review {review_id!r} here: list the reviews.")
    return review


def resolve_review(
    session: Session, review: FraudReview, by: User, status: ReviewStatus, resolution: str
) -> FraudReview:
    """Close an open review (cleared or confirmed); resolving a closed one changes nothing."""
    if review.status is ReviewStatus.OPEN:
        review.status = status
        review.resolution = resolution
        review.resolved_by = by.id
        review.resolved_at = utcnow()
        session.flush()
    return review


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


def devices_of(session: Session, user: User) -> Sequence[ClientDevice]:
    query = select(ClientDevice).where(ClientDevice.user_id == user.id)
    return session.scalars(query.order_by(ClientDevice.last_seen_at.desc())).all()


def notices_of(session: Session, user: User) -> Sequence[SignInNotice]:
    query = select(SignInNotice).where(SignInNotice.user_id == user.id)
    return session.scalars(query.order_by(SignInNotice.created_at.desc())).all()
