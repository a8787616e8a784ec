from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sync.wire import EventStatus, IncidentKind

from ..db import Base, BigId, UtcDateTime, str_enum, utcnow
from ..events import Recorded
from ..events.models import EventEntity
from ..ids import ID_LENGTH, make_id


class PairingCode(Base):
    __tablename__ = "pairing_codes"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=make_id)
    business_id: Mapped[str] = mapped_column(ForeignKey("businesses.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The branch the terminal it pairs will serve; not a foreign key, as a deal's branches.
    branch_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), default=None)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)


class Device(Base):
    __tablename__ = "devices"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=make_id)
    business_id: Mapped[str] = mapped_column(ForeignKey("businesses.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    branch_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), default=None)
    public_key: Mapped[str] = mapped_column(String(60))  # base64 of the raw Ed25519 key
    secret_hash: Mapped[str] = mapped_column(String(64))
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    # Set by migration 0007 on terminals paired before it: their cursor may have skipped
    # changes, and their next pull starts a little earlier (`pull.resume_from`), once.
    feed_rewind_below: Mapped[int | None] = mapped_column(BigInteger, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)


class SyncEvent(Base):
    """Every event a terminal pushed, with the answer it got: the exactly-once record."""

    __tablename__ = "sync_events"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"), index=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(40))
    occurred_at: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[EventStatus] = mapped_column(str_enum(EventStatus, 30))
    detail: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("device_id", "seq"),)


class RedeemedItem(enum.StrEnum):
    GIFT_CARD = "gift_card"
    VOUCHER = "voucher"


class TillRedemption(Base):
    """A redemption a terminal made under its attempt key, online (the server decided) or
    offline (a pushed event): what a void takes back, and what tells a terminal's offline
    event and its late online request apart from a new sale. One per (device, attempt key)."""

    __tablename__ = "till_redemptions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"))
    attempt_key: Mapped[str] = mapped_column(String(200))  # wallet.idempotency.MAX_KEY_LENGTH
    item: Mapped[RedeemedItem] = mapped_column(str_enum(RedeemedItem, 20))
    subject_id: Mapped[str] = mapped_column(String(ID_LENGTH))  # the card or the voucher
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    operation_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))  # its ledger transfers
    event_id: Mapped[str | None] = mapped_column(String(36))  # offline: the event; online: None
    made_at: Mapped[datetime] = mapped_column(UtcDateTime())
    voided_by: Mapped[str | None] = mapped_column(String(36), default=None)  # the void's event
    # Who was signed in at the till (a staff account's id, as the terminal said); None when
    # no one was, or the terminal is older than till sign-in.
    cashier_id: Mapped[str | None] = mapped_column(String(36), default=None)

    __table_args__ = (UniqueConstraint("device_id", "attempt_key"),)

    @property
    def withdrawn(self) -> bool:
        """The terminal withdrew this attempt before the server had applied it: nothing was
        redeemed (amount 0, no transfers). Kept as the withdrawal's own row, its event both
        recording and closing it (`event_id` and `voided_by`), so that the attempt arriving
        later cannot be applied: one row per (device, attempt key)."""
        return closes_itself(self.event_id, self.voided_by)


def closes_itself(event_id: str | None, voided_by: str | None) -> bool:
    """A till redemption recorded and closed by the same event: an attempt its terminal
    withdrew before the server had applied it (`TillRedemption.withdrawn`)."""
    return event_id is not None and voided_by == event_id


class Incident(Recorded, Base):
    """Something reconciliation found that a person must look at."""

    __tablename__ = "incidents"
    __event_entity__ = EventEntity.INCIDENT

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=make_id)
    business_id: Mapped[str] = mapped_column(ForeignKey("businesses.id"), index=True)
    kind: Mapped[IncidentKind] = mapped_column(str_enum(IncidentKind, 40))
    subject_id: Mapped[str] = mapped_column(String(ID_LENGTH), index=True)
    event_id: Mapped[str] = mapped_column(String(36))
    amount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    detail: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    resolution: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)


class OfflineLimits(Recorded, Base):
    """How much a business lets its terminals approve without the server (DESIGN.md §5)."""

    __tablename__ = "offline_limits"
    __event_entity__ = EventEntity.LIMITS

    business_id: Mapped[str] = mapped_column(ForeignKey("businesses.id"), primary_key=True)
    max_single_minor: Mapped[int] = mapped_column(BigInteger)
    max_per_card_minor: Mapped[int] = mapped_column(BigInteger)
    max_unsynced_minor: Mapped[int] = mapped_column(BigInteger)
    max_cache_age_seconds: Mapped[int] = mapped_column(Integer)
    stale_cache_max_minor: Mapped[int] = mapped_column(BigInteger)
    version: Mapped[int] = mapped_column(Integer, default=1)
