"""The event log's tables: the events, and each business's position counter."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, BigId, UtcDateTime
from ..ids import ID_LENGTH

__all__ = ["Event", "EventCounter", "EventEntity", "EventKind"]


class EventEntity(enum.StrEnum):
    """What an event is about. Terminals cache all but incidents."""

    CARD = "card"
    VOUCHER = "voucher"
    DEAL = "deal"
    PRODUCT = "product"
    BRANCH = "branch"
    REVOCATION = "revocation"  # entity_id is the revoked token's id
    LIMITS = "limits"  # the business's offline limits; entity_id is the business id
    PLAN = "plan"  # the business's subscription; entity_id is the business id
    STAFF = "staff"  # a till PIN set, changed or cleared; entity_id is the person's user id
    INCIDENT = "incident"
    # The business itself renamed, redescribed or closed; entity_id is the business id.
    BUSINESS = "business"
    # A vendor's webhook endpoint the server disabled (it answered 410 Gone, or failed for
    # the whole retry schedule): its owner is told. Never itself sent by webhook.
    WEBHOOK_ENDPOINT = "webhook_endpoint"
    # What billing told a vendor (an invoice, a failed payment, a suspension…): its owner is
    # told. Never itself sent by webhook; terminals ignore it.
    BILLING_NOTICE = "billing_notice"


class EventKind(enum.StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    REMOVED = "removed"
    BALANCE_CHANGED = "balance_changed"  # a card's ledger balance moved


class Event(Base):
    """One thing that changed, written in the transaction that changed it.

    `position` orders a business's events in the order their transactions committed:
    it is handed out from `EventCounter` just before commit, while that counter's row
    stays locked until the commit. So once position N is visible, every position below N
    of that business is visible too (committed) or will never exist (rolled back), and a
    reader that resumes after N can never skip one. `id` is the global insertion order,
    for references, never for resuming.
    """

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    business_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    position: Mapped[int] = mapped_column(BigInteger)
    entity: Mapped[str] = mapped_column(String(20))
    entity_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    kind: Mapped[str] = mapped_column(String(20))
    # None only for events recorded before the log kept times (migration 0007).
    occurred_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)

    __table_args__ = (Index("ix_events_business_position", "business_id", "position", unique=True),)


class EventCounter(Base):
    """The last position handed out in a business's log."""

    __tablename__ = "event_counters"

    business_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger)
