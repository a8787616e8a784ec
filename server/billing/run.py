"""The billing run for one day: tier changes whose grace is over, new periods and their
invoices, a day's changes invoiced, payments attempted and retried, suspensions.

Safe to run twice for the same day, and from several processes at once: each business is
handled in its own transaction with its subscription row locked; every invoice has a key
(what it is for) that is unique per business; every charge has an idempotency key at the
gateway; and every step first looks at what is already done.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.money import Money
from sync.wire import InvoiceKind, InvoiceStatus, SubscriptionStatus

from ..db import utcnow
from ..directory.models import Business
from ..errors import PaymentDeclined
from ..payments.gateway import PaymentDeclinedError, PaymentGateway
from .models import Adjustment, AdjustmentKind, Invoice, InvoiceLine, Subscription, TestClock
from .proration import add_month
from .rates import RateError, convert
from .subscriptions import (
    BRANCH,
    HIBERNATE,
    TIER_GRACE,
    base_currency,
    change_plan,
    closed,
    notify,
    plan_for,
    prices,
    product_count,
)

__all__ = [
    "PAYMENT_GRACE",
    "RETRY_GAPS",
    "RunSummary",
    "charge_invoice",
    "run_billing",
    "run_business_day",
    "void",
]

RETRY_GAPS = (1, 2, 4, 8)  # days between a failed payment and its retries
PAYMENT_GRACE = timedelta(days=7)  # after the last retry, before suspension


@dataclass
class RunSummary:
    businesses: int = 0
    invoices: int = 0
    paid: int = 0
    failed: int = 0
    suspended: int = 0
    plan_changes: int = 0
    problems: list[str] = field(default_factory=list)


def run_billing(sessions: Callable[[], Session], at: date, gateway: PaymentGateway) -> RunSummary:
    """Everything due on `at`, business by business — but for those on a test clock, which
    live in their own time (`run_business_day` moves them, when their clock is advanced)."""
    summary = RunSummary()
    with sessions() as session:
        ids = list(
            session.scalars(
                select(Subscription.business_id)
                .where(Subscription.business_id.not_in(select(TestClock.business_id)))
                .order_by("business_id")
            )
        )
    for business_id in ids:
        with sessions() as session:
            try:
                run_business_day(session, business_id, at, gateway, summary)
                session.commit()
            except RateError as exc:
                session.rollback()
                summary.problems.append(f"business {business_id}: {exc}")
    return summary


def run_business_day(
    session: Session, business_id: str, at: date, gateway: PaymentGateway, summary: RunSummary
) -> None:
    """Everything due on `at` for one business, its subscription locked; the caller commits."""
    subscription = session.scalar(
        select(Subscription).where(Subscription.business_id == business_id).with_for_update()
    )
    if subscription is not None:
        _run_one(session, subscription, at, gateway, summary)
    summary.businesses += 1


def _run_one(
    session: Session,
    subscription: Subscription,
    at: date,
    gateway: PaymentGateway,
    summary: RunSummary,
) -> None:
    # A closed business is invoiced nothing new: no tier change, no period, not the changes
    # still waiting when it closed (each is billed to the end of a period it is not open
    # for). What was invoiced before is still collected.
    still_open = not closed(session, subscription.business_id)
    if still_open:
        _tier_grace(session, subscription, at, summary)
    _roll_periods(subscription, at)
    if still_open:
        _invoice_period(session, subscription, at, gateway, summary)
        _invoice_changes(session, subscription, at, gateway, summary)
    _retry_payments(session, subscription, at, gateway, summary)
    _suspend_when_grace_is_over(session, subscription, at, summary)


def _tier_grace(session: Session, subscription: Subscription, at: date, s: RunSummary) -> None:
    if subscription.pending_plan is None or subscription.pending_since is None:
        return
    effective = subscription.pending_since + TIER_GRACE
    if at < effective:
        return
    needed = plan_for(session, product_count(session, subscription.business_id))
    if needed.code == subscription.pending_plan:
        change_plan(session, subscription, needed.code, effective, "product count, after grace")
        s.plan_changes += 1
    subscription.pending_plan = subscription.pending_since = None


def _roll_periods(subscription: Subscription, at: date) -> None:
    if subscription.status == SubscriptionStatus.SUSPENDED:
        return  # no periods (and no invoices) while suspended; paying restarts them
    while at >= subscription.period_end:
        subscription.period_start = subscription.period_end
        subscription.period_end = add_month(subscription.period_end, subscription.anchor_day)


def _line(
    session: Session, invoice: Invoice, description: str, base: Money, on: date
) -> InvoiceLine:
    converted = convert(session, base, invoice.currency, on)
    line = InvoiceLine(
        description=description[:200],
        amount_minor=converted.amount.minor,
        base_minor=base.minor,
        base_currency=base.currency.code,
        rate=str(converted.rate),
        rate_date=converted.rate_date,
    )
    invoice.lines.append(line)
    return line


def _new_invoice(
    session: Session, subscription: Subscription, key: str, kind: InvoiceKind, at: date
) -> Invoice | None:
    """A draft invoice for `key`, or None when it exists already."""
    exists = session.scalar(
        select(Invoice.id).where(
            Invoice.business_id == subscription.business_id, Invoice.key == key
        )
    )
    if exists is not None:
        return None
    business = session.get(Business, subscription.business_id)
    assert business is not None
    return Invoice(
        business_id=subscription.business_id,
        key=key,
        kind=kind,
        issued_on=at,
        period_start=subscription.period_start,
        period_end=subscription.period_end,
        status=InvoiceStatus.DRAFT,
        currency=business.currency,
    )


def _invoice_changes(
    session: Session, subscription: Subscription, at: date, gateway: PaymentGateway, s: RunSummary
) -> None:
    """Each earlier day whose changes (made after its period was invoiced) add up to a charge
    gets an invoice of its own; a day that adds up to a credit waits for the next period's
    invoice."""
    pending = session.scalars(
        select(Adjustment)
        .where(
            Adjustment.business_id == subscription.business_id,
            Adjustment.invoice_id.is_(None),
            Adjustment.day < at,
        )
        .order_by(Adjustment.day, Adjustment.id)
    ).all()
    by_day: dict[date, list[Adjustment]] = defaultdict(list)
    for adjustment in pending:
        by_day[adjustment.day].append(adjustment)
    for day, adjustments in sorted(by_day.items()):
        if sum(a.base_minor for a in adjustments) <= 0:
            continue
        invoice = _new_invoice(
            session, subscription, f"changes:{day.isoformat()}", InvoiceKind.CHANGES, at
        )
        if invoice is None:
            continue
        _take(session, invoice, adjustments, at)
        _issue(session, subscription, invoice, at, gateway, s)


def _take(session: Session, invoice: Invoice, adjustments: list[Adjustment], at: date) -> None:
    currency = base_currency(session)
    session.add(invoice)
    session.flush()
    for adjustment in adjustments:
        _line(
            session, invoice, adjustment.description, Money.of(adjustment.base_minor, currency), at
        )
        adjustment.invoice_id = invoice.id


def _invoice_period(
    session: Session, subscription: Subscription, at: date, gateway: PaymentGateway, s: RunSummary
) -> None:
    if subscription.status == SubscriptionStatus.SUSPENDED:
        return
    key = f"period:{subscription.period_start.isoformat()}"
    invoice = _new_invoice(session, subscription, key, InvoiceKind.PERIOD, at)
    if invoice is None:
        return
    table = prices(session)
    span = f"{subscription.period_start.isoformat()} to {subscription.period_end.isoformat()}"
    session.add(invoice)
    session.flush()
    if subscription.hibernating:
        fee = table[HIBERNATE]
        _line(session, invoice, f"{fee.name}, {span}", Money.of(fee.price_minor, fee.currency), at)
    else:
        plan = table[subscription.plan_code]
        base = Money.of(plan.price_minor, plan.currency)
        _line(session, invoice, f"{plan.name} plan, {span}", base, at)
        if subscription.extra_branches:
            branch = table[BRANCH]
            amount = Money.of(branch.price_minor, branch.currency) * subscription.extra_branches
            _line(
                session,
                invoice,
                f"{subscription.extra_branches} extra branches, {span}",
                amount,
                at,
            )
    waiting = session.scalars(
        select(Adjustment)
        .where(
            Adjustment.business_id == subscription.business_id,
            Adjustment.invoice_id.is_(None),
        )
        .order_by(Adjustment.day, Adjustment.id)
    ).all()
    # Changes from before this period (credits, mostly) are lines of this invoice. Changes
    # already made in this period are in the price just billed for all of it: absorbed.
    _take(session, invoice, [a for a in waiting if a.day < subscription.period_start], at)
    for adjustment in waiting:
        if adjustment.day >= subscription.period_start:
            adjustment.invoice_id = invoice.id
    _issue(session, subscription, invoice, at, gateway, s)


def _issue(
    session: Session,
    subscription: Subscription,
    invoice: Invoice,
    at: date,
    gateway: PaymentGateway,
    s: RunSummary,
) -> None:
    """Total the invoice, open it and try to collect it (nothing to collect: paid)."""
    invoice.total_minor = sum(line.amount_minor for line in invoice.lines)
    base_total = sum(line.base_minor for line in invoice.lines)
    if base_total < 0:  # more credit than charge: the rest waits for the next invoice
        currency = invoice.lines[0].base_currency
        carry = Money.of(-base_total, currency)
        line = _line(session, invoice, "Credit carried to the next invoice", carry, at)
        invoice.total_minor += line.amount_minor
        session.add(
            Adjustment(
                business_id=subscription.business_id,
                day=at - timedelta(days=1),
                kind=AdjustmentKind.CREDIT,
                description="Credit carried from an earlier invoice",
                base_minor=base_total,
                monthly_delta_minor=0,
            )
        )
    invoice.status = InvoiceStatus.OPEN
    s.invoices += 1
    notify(
        session,
        subscription.business_id,
        at,
        "invoice",
        f"Invoice {invoice.id}: {_money(invoice).format()} for {invoice.kind} "
        f"{invoice.period_start.isoformat()} to {invoice.period_end.isoformat()}.",
    )
    if invoice.total_minor <= 0:
        _paid(invoice, at)
        return
    charge_invoice(session, subscription, invoice, at, gateway, subscription.payment_card_token, s)


def _paid(invoice: Invoice, at: date) -> None:
    """Paid now: on the billing clock's date `at`, at this moment's time of day (the moment
    itself unless a test clock or `billing-run --at` names another date)."""
    invoice.status, invoice.paid_on = InvoiceStatus.PAID, at
    invoice.paid_at = datetime.combine(at, utcnow().timetz())


def _money(invoice: Invoice) -> Money:
    return Money.of(invoice.total_minor, invoice.currency)


def keep_card(subscription: Subscription, gateway: PaymentGateway, card_number: str) -> None:
    """Put a card on file as the gateway's token and its last four digits (`PaymentDeclined`
    when the gateway refuses the number)."""
    try:
        saved = gateway.save_card(card_number)
    except PaymentDeclinedError as exc:
        raise PaymentDeclined(exc.message, decline_code=exc.code) from None
    subscription.payment_card_token, subscription.payment_card_last4 = saved.token, saved.last4


def charge_invoice(
    session: Session,
    subscription: Subscription,
    invoice: Invoice,
    at: date,
    gateway: PaymentGateway,
    card: str | None,
    s: RunSummary | None = None,
) -> bool:
    """One attempt to collect `invoice`; on failure the retry schedule moves on, and the
    vendor is told either way. True when paid."""
    invoice.attempts += 1
    amount = _money(invoice)
    try:
        if not card:
            raise PaymentDeclinedError("no_card", "There is no payment card on file: add one.")
        charge = gateway.charge(amount, card, f"invoice:{invoice.id}:{invoice.attempts}")
    except PaymentDeclinedError as declined:
        _failed(session, subscription, invoice, at, declined.message)
        if s is not None:
            s.failed += 1
        return False
    _paid(invoice, at)
    invoice.charge_reference = charge.reference
    invoice.next_attempt_on = None
    if s is not None:
        s.paid += 1
    notify(
        session,
        subscription.business_id,
        at,
        "paid",
        f"Invoice {invoice.id} paid: {amount.format()}.",
    )
    _restore_if_settled(session, subscription, at)
    return True


def _failed(
    session: Session, subscription: Subscription, invoice: Invoice, at: date, why: str
) -> None:
    invoice.failed_on = invoice.failed_on or at
    if subscription.status is SubscriptionStatus.SUSPENDED:
        # Only a payment lifts a suspension; a declined one leaves it as it is.
        invoice.next_attempt_on = None
        message = (
            f"Payment of invoice {invoice.id} failed ({why}). The business stays suspended "
            "until the invoice is paid."
        )
        notify(session, subscription.business_id, at, "payment_failed", message)
        return
    retries_done = invoice.attempts - 1
    if retries_done < len(RETRY_GAPS):
        invoice.next_attempt_on = at + timedelta(days=RETRY_GAPS[retries_done])
        if subscription.status == SubscriptionStatus.ACTIVE:
            subscription.status = SubscriptionStatus.PAST_DUE
        when = invoice.next_attempt_on.isoformat()
        message = f"Payment of invoice {invoice.id} failed ({why}). We will try again on {when}."
        notify(session, subscription.business_id, at, "payment_failed", message)
        return
    invoice.next_attempt_on = None
    # A grace already running is not extended by another declined payment.
    if subscription.status != SubscriptionStatus.GRACE or subscription.grace_until is None:
        subscription.status = SubscriptionStatus.GRACE
        subscription.grace_until = at + PAYMENT_GRACE
    notify(
        session,
        subscription.business_id,
        at,
        "final_notice",
        f"Payment of invoice {invoice.id} failed again ({why}) and there are no more retries. "
        f"Pay it by {subscription.grace_until.isoformat()} or the business is suspended: "
        "hidden from search, no new sales, listing edits paused (sold cards stay redeemable).",
    )


def _retry_payments(
    session: Session, subscription: Subscription, at: date, gateway: PaymentGateway, s: RunSummary
) -> None:
    due = session.scalars(
        select(Invoice)
        .where(
            Invoice.business_id == subscription.business_id,
            Invoice.status == InvoiceStatus.OPEN,
            Invoice.next_attempt_on.is_not(None),
            Invoice.next_attempt_on <= at,
        )
        .order_by(Invoice.issued_on)
    ).all()
    for invoice in due:
        charge_invoice(
            session, subscription, invoice, at, gateway, subscription.payment_card_token, s
        )


def _suspend_when_grace_is_over(
    session: Session, subscription: Subscription, at: date, s: RunSummary
) -> None:
    if subscription.status != SubscriptionStatus.GRACE or subscription.grace_until is None:
        return
    if at < subscription.grace_until:
        return
    subscription.status = SubscriptionStatus.SUSPENDED
    for invoice in _unpaid(session, subscription.business_id):
        invoice.status = InvoiceStatus.UNCOLLECTIBLE
    s.suspended += 1
    notify(
        session,
        subscription.business_id,
        at,
        "suspended",
        "Suspended for an unpaid invoice: hidden from search, no new sales, listing edits "
        "paused; your data is kept and sold cards stay redeemable. Paying the invoice "
        "restores everything at once.",
    )


def _unpaid(session: Session, business_id: str) -> list[Invoice]:
    return list(
        session.scalars(
            select(Invoice).where(
                Invoice.business_id == business_id,
                Invoice.status.in_((InvoiceStatus.OPEN, InvoiceStatus.UNCOLLECTIBLE)),
            )
        )
    )


def void(session: Session, subscription: Subscription, invoice: Invoice, at: date) -> None:
    """An admin cancels an unpaid invoice: no more attempts; standing follows."""
    invoice.status, invoice.next_attempt_on = InvoiceStatus.VOID, None
    notify(
        session,
        subscription.business_id,
        at,
        "void",
        f"Invoice {invoice.id} ({_money(invoice).format()}) was cancelled: nothing to pay.",
    )
    _restore_if_settled(session, subscription, at)


def _restore_if_settled(session: Session, subscription: Subscription, at: date) -> None:
    if subscription.status == SubscriptionStatus.ACTIVE or _unpaid(
        session, subscription.business_id
    ):
        return
    was_suspended = subscription.status == SubscriptionStatus.SUSPENDED
    subscription.status = SubscriptionStatus.ACTIVE
    subscription.grace_until = None
    if was_suspended and at >= subscription.period_end:
        # Nothing was billed while suspended: a new period starts today.
        subscription.period_start = at
        subscription.period_end = add_month(at)
        subscription.anchor_day = at.day
    notify(session, subscription.business_id, at, "restored", "All paid: back in good standing.")
