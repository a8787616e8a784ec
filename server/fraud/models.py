"""Fraud's tables: the rules (data, not code), the activity they count, every decision they
made, the reviews they opened, and the client devices people sign in from."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, BigId, UtcDateTime, str_enum, utcnow
from ..ids import ID_LENGTH, PAYMENT_CARD_KEY_LENGTH, make_id


class FraudSubject(enum.StrEnum):
    """Whose activity a rule counts."""

    CARD = "card"  # a gift card
    PAYMENT_CARD = "payment_card"  # a bank card: its gateway token and last four, never the number
    CUSTOMER = "customer"  # a signed-in account
    TERMINAL = "terminal"  # a paired terminal, or a cashier's till session
    ADDRESS = "address"  # the client's network address


class FraudEvent(enum.StrEnum):
    """What a rule applies to."""

    PURCHASE = "purchase"
    REDEMPTION_ONLINE = "redemption_online"
    REDEMPTION_PUSHED = "redemption_pushed"  # already happened offline: never refused
    TRANSFER = "transfer"
    LOGIN = "login"
    CODE_LOOKUP = "code_lookup"  # a till presenting a card's code


class Counting(enum.StrEnum):
    """What a rule's `max_count` bounds."""

    ATTEMPTS = "attempts"  # every event, this one included
    FAILURES = "failures"  # events that failed (an unknown or forged code)
    DISTINCT_PAYMENT_CARDS = "distinct_payment_cards"


class FraudAction(enum.StrEnum):
    ALLOW = "allow"
    REVIEW = "review"  # allowed, and a review opens
    BLOCK = "block"  # refused (a pushed redemption: flagged, with an incident)


class RuleMode(enum.StrEnum):
    ENFORCED = "enforced"
    SHADOW = "shadow"  # decided and recorded, never acted on


class ReviewStatus(enum.StrEnum):
    OPEN = "open"
    CLEARED = "cleared"  # looked at: nothing wrong
    CONFIRMED = "confirmed"  # looked at: it was fraud


class FraudRule(Base):
    """At most `max_count` (and/or `max_amount_minor` in `currency`) of `event` per
    `subject` within `window_seconds`; past that, `action`.

    A platform rule (no `business_id`, made by admins) counts activity everywhere and
    applies to every business; a business's own rule (made by its owner) counts and applies
    to activity at that business only. Names are unique among the platform's rules and
    among each business's."""

    __tablename__ = "fraud_rules"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=make_id)
    business_id: Mapped[str | None] = mapped_column(ForeignKey("businesses.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    subject: Mapped[FraudSubject] = mapped_column(str_enum(FraudSubject, 20))
    event: Mapped[FraudEvent] = mapped_column(str_enum(FraudEvent, 30))
    counting: Mapped[Counting] = mapped_column(str_enum(Counting, 30))
    window_seconds: Mapped[int] = mapped_column(Integer)
    max_count: Mapped[int | None] = mapped_column(Integer)
    max_amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))  # of max_amount_minor
    action: Mapped[FraudAction] = mapped_column(str_enum(FraudAction, 10))
    mode: Mapped[RuleMode] = mapped_column(str_enum(RuleMode, 10))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    __table_args__ = (
        UniqueConstraint("business_id", "name"),
        # NULLs are distinct in a unique constraint: the platform's names need their own.
        Index(
            "uq_fraud_rules_platform_name",
            "name",
            unique=True,
            postgresql_where=text("business_id IS NULL"),
            sqlite_where=text("business_id IS NULL"),
        ),
    )


class FraudActivity(Base):
    """One event the rules count, appended (never updated): no row that many requests lock."""

    __tablename__ = "fraud_activity"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event: Mapped[FraudEvent] = mapped_column(str_enum(FraudEvent, 30))
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    business_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    card_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    payment_card: Mapped[str | None] = mapped_column(String(PAYMENT_CARD_KEY_LENGTH))
    customer_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    terminal: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(String(64))
    amount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str | None] = mapped_column(String(3))
    failed: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        Index("ix_fraud_activity_card", "card_id", "event", "at"),
        Index("ix_fraud_activity_payment_card", "payment_card", "event", "at"),
        Index("ix_fraud_activity_customer", "customer_id", "event", "at"),
        Index("ix_fraud_activity_terminal", "terminal", "event", "at"),
        Index("ix_fraud_activity_address", "address", "event", "at"),
        # A till's failed code lookups, without its thousands of good ones in the way.
        Index(
            "ix_fraud_activity_terminal_failures",
            "terminal",
            "event",
            "at",
            postgresql_where=text("failed IS true"),
            sqlite_where=text("failed IS true"),
        ),
    )


class FraudDecision(Base):
    """What one rule decided about one event, with what it counted."""

    __tablename__ = "fraud_decisions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    reference: Mapped[str] = mapped_column(String(ID_LENGTH), unique=True, default=make_id)
    rule_id: Mapped[str] = mapped_column(ForeignKey("fraud_rules.id"), index=True)
    event: Mapped[FraudEvent] = mapped_column(str_enum(FraudEvent, 30))
    subject: Mapped[FraudSubject] = mapped_column(str_enum(FraudSubject, 20))
    subject_key: Mapped[str] = mapped_column(String(PAYMENT_CARD_KEY_LENGTH))
    business_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), index=True)
    # The counts it saw and the limits it compared them with, as they were then.
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON)
    action: Mapped[FraudAction] = mapped_column(str_enum(FraudAction, 10))
    mode: Mapped[RuleMode] = mapped_column(str_enum(RuleMode, 10))
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class FraudReview(Base):
    """A person should look at a subject a rule flagged. One open review per rule and
    subject: further hits add to it."""

    __tablename__ = "fraud_reviews"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=make_id)
    business_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), index=True)
    rule_id: Mapped[str] = mapped_column(ForeignKey("fraud_rules.id"))
    decision_reference: Mapped[str] = mapped_column(String(ID_LENGTH))  # the latest hit
    event: Mapped[FraudEvent] = mapped_column(str_enum(FraudEvent, 30))
    subject: Mapped[FraudSubject] = mapped_column(str_enum(FraudSubject, 20))
    subject_key: Mapped[str] = mapped_column(String(PAYMENT_CARD_KEY_LENGTH))
    reason: Mapped[str] = mapped_column(Text)
    hits: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[ReviewStatus] = mapped_column(
        str_enum(ReviewStatus, 10), default=ReviewStatus.OPEN
    )
    resolution: Mapped[str] = mapped_column(Text, default="")
    resolved_by: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)

    __table_args__ = (
        # One open review per rule, subject and business (a sign-in has none): hits that
        # come at once add to it (`service.hit_or_open`, whose ON CONFLICT names this).
        Index(
            "uq_fraud_reviews_open",
            "rule_id",
            "subject_key",
            text("coalesce(business_id, '')"),
            unique=True,
            postgresql_where=text("status = 'open'"),
            sqlite_where=text("status = 'open'"),
        ),
    )


class ClientDevice(Base):
    """A device someone signed in from: an app's install id, or else its user agent."""

    __tablename__ = "client_devices"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    device_key: Mapped[str] = mapped_column(String(80))
    install_id: Mapped[str | None] = mapped_column(String(100))
    user_agent: Mapped[str] = mapped_column(String(300))
    address: Mapped[str] = mapped_column(String(64))
    sign_ins: Mapped[int] = mapped_column(Integer, default=1)
    first_seen_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("user_id", "device_key"),)


class SignInNotice(Base):
    """A vendor owner signed in from a device not seen before: they are told."""

    __tablename__ = "sign_in_notices"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=make_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("client_devices.id"))
    detail: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
