"""Billing's tables: the price list (data, not code), each business's subscription, the
prorated changes waiting to be invoiced, invoices with their lines, exchange rates, and the
notices that tell the vendor what happened."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sync.wire import InvoiceKind, InvoiceStatus, PriceKind, SubscriptionStatus

from ..db import Base, BigId, UtcDateTime, str_enum, utcnow
from ..events import Recorded
from ..events.models import EventEntity
from ..ids import ID_LENGTH, make_id


class AdjustmentKind(enum.StrEnum):
    PLAN = "plan"
    BRANCHES = "branches"
    HIBERNATE = "hibernate"
    CREDIT = "credit"  # an invoice's negative total, carried to the next one


class PriceItem(Base):
    """One price of the list: a plan (with the products it allows) or an add-on."""

    __tablename__ = "billing_prices"

    code: Mapped[str] = mapped_column(String(30), primary_key=True)
    kind: Mapped[PriceKind] = mapped_column(str_enum(PriceKind, 10))
    name: Mapped[str] = mapped_column(String(60))
    price_minor: Mapped[int] = mapped_column(BigInteger)  # a month, in `currency`
    currency: Mapped[str] = mapped_column(String(3))
    max_products: Mapped[int | None] = mapped_column(Integer)  # a plan's; None: unlimited
    rank: Mapped[int] = mapped_column(Integer, default=0)  # plans, cheapest first


class Subscription(Recorded, Base):
    """A business's subscription: the plan in force, the current period, how it stands."""

    __tablename__ = "subscriptions"
    __event_entity__ = EventEntity.PLAN

    business_id: Mapped[str] = mapped_column(ForeignKey("businesses.id"), primary_key=True)
    plan_code: Mapped[str] = mapped_column(ForeignKey("billing_prices.code"))
    status: Mapped[SubscriptionStatus] = mapped_column(
        str_enum(SubscriptionStatus, 12), default=SubscriptionStatus.ACTIVE
    )
    hibernating: Mapped[bool] = mapped_column(Boolean, default=False)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)  # the first day of the next period
    extra_branches: Mapped[int] = mapped_column(Integer, default=0)  # in force, billed
    pending_plan: Mapped[str | None] = mapped_column(String(30))  # a tier change in grace
    pending_since: Mapped[date | None] = mapped_column(Date)
    grace_until: Mapped[date | None] = mapped_column(Date)  # payment retries over: then suspended
    anchor_day: Mapped[int] = mapped_column(Integer)  # the day of the month periods start on
    # The gateway's token for the card on file and its last four digits: never the number.
    payment_card_token: Mapped[str | None] = mapped_column(String(200))
    payment_card_last4: Mapped[str | None] = mapped_column(String(4))
    version: Mapped[int] = mapped_column(Integer, default=1)


class Adjustment(Base):
    """A prorated change (plan, branches, hibernation) waiting for an invoice: charged with
    the next day's run when a day's changes add up to a charge, else credited on the next
    renewal. Branch changes of one day are one row (net), so one line."""

    __tablename__ = "billing_adjustments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    business_id: Mapped[str] = mapped_column(ForeignKey("businesses.id"), index=True)
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[AdjustmentKind] = mapped_column(str_enum(AdjustmentKind, 12))
    description: Mapped[str] = mapped_column(String(200))
    base_minor: Mapped[int] = mapped_column(BigInteger)  # signed, in the price list's currency
    # A branches row: the day's net change of the monthly price, prorated once into base_minor.
    monthly_delta_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    invoice_id: Mapped[str | None] = mapped_column(ForeignKey("invoices.id"))


class Invoice(Base):
    __tablename__ = "invoices"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=make_id)
    business_id: Mapped[str] = mapped_column(ForeignKey("businesses.id"), index=True)
    # period:<period start> or changes:<day>: what the invoice is for, once (idempotency)
    key: Mapped[str] = mapped_column(String(40))
    kind: Mapped[InvoiceKind] = mapped_column(str_enum(InvoiceKind, 10))
    issued_on: Mapped[date] = mapped_column(Date)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    status: Mapped[InvoiceStatus] = mapped_column(
        str_enum(InvoiceStatus, 14), default=InvoiceStatus.DRAFT
    )
    currency: Mapped[str] = mapped_column(String(3))
    total_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    paid_on: Mapped[date | None] = mapped_column(Date)  # the billing clock's date
    # The moment it was paid, on that date (reports put it on its day in their time zone).
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    charge_reference: Mapped[str | None] = mapped_column(String(60))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    failed_on: Mapped[date | None] = mapped_column(Date)  # the first failed attempt
    next_attempt_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    lines: Mapped[list[InvoiceLine]] = relationship(
        order_by="InvoiceLine.id", cascade="all, delete-orphan"
    )

    __table_args__ = (UniqueConstraint("business_id", "key"),)


class InvoiceLine(Base):
    __tablename__ = "invoice_lines"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), index=True)
    description: Mapped[str] = mapped_column(String(200))
    amount_minor: Mapped[int] = mapped_column(BigInteger)  # in the invoice's currency
    base_minor: Mapped[int] = mapped_column(BigInteger)  # in the price list's currency
    base_currency: Mapped[str] = mapped_column(String(3))
    rate: Mapped[str] = mapped_column(String(24))  # invoice currency per base unit, exact
    rate_date: Mapped[date | None] = mapped_column(Date)  # None: same currency, rate 1


class ExchangeRate(Base):
    """How much of `currency` one unit of the price list's currency buys, from a date on.
    Kept as exact decimal text: money never passes through a float."""

    __tablename__ = "exchange_rates"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    currency: Mapped[str] = mapped_column(String(3))
    base_currency: Mapped[str] = mapped_column(String(3))
    rate: Mapped[str] = mapped_column(String(24))
    valid_from: Mapped[date] = mapped_column(Date)

    __table_args__ = (UniqueConstraint("currency", "base_currency", "valid_from"),)


class BillingNotice(Recorded, Base):
    """What billing told the vendor: a failed payment, a retry, a soft limit, a suspension.

    Each is an event, so the notifications' consumer tells the business's owner (the
    `billing_notice` kind) once, from the transaction that wrote it."""

    __tablename__ = "billing_notices"
    __event_entity__ = EventEntity.BILLING_NOTICE

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    business_id: Mapped[str] = mapped_column(ForeignKey("businesses.id"), index=True)
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(30))
    message: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class TestClock(Base):
    """A business's own billing date on a sandbox server (TILLPOINT_SANDBOX): moved only
    forward, through the API, so an integrator walks a subscription through a month."""

    __tablename__ = "billing_test_clocks"
    __test__ = False  # not a test, whatever pytest thinks of the name

    business_id: Mapped[str] = mapped_column(ForeignKey("businesses.id"), primary_key=True)
    today: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
