"""Webhooks' tables: a business's endpoints, the deliveries of events to them (an outbox
that workers claim), each attempt's log, and the reader's cursors."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, BigId, UtcDateTime, str_enum, utcnow
from ..ids import ID_LENGTH, make_id
from ..outbox import Leased, LogCursor

__all__ = [
    "AttemptOutcome",
    "EndpointStatus",
    "WebhookAttempt",
    "WebhookCursor",
    "WebhookDelivery",
    "WebhookEndpoint",
]

URL_LENGTH = 2000
BODY_KEPT = 2048  # characters of a response body the attempt log keeps


class EndpointStatus(enum.StrEnum):
    ENABLED = "enabled"
    DISABLED = "disabled"
    DELETED = "deleted"  # its owner deleted it: the API no longer finds it


class AttemptOutcome(enum.StrEnum):
    SUCCEEDED = "succeeded"  # a 2xx answer
    FAILED = "failed"  # any other answer, a redirect, or no answer in time
    REFUSED = "refused"  # not sent: the address is one the server may not call


class WebhookCursor(LogCursor, Base):
    """How far the webhook reader has read a business's event log."""

    __tablename__ = "webhook_cursors"


class WebhookEndpoint(Base):
    """A URL a business's owner registered for some of its events.

    `secret` signs every delivery; after a rotation `previous_secret` signs beside it until
    `previous_secret_until`, so receivers can switch without dropping one. `from_position`
    is the endpoint's place in the business's log: every event up to it has been turned
    into its deliveries (or happened before it was registered). The reader moves it on
    while the endpoint is enabled; while disabled it stays, and what happens meanwhile
    waits in the log (see `consumer`)."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=make_id)
    business_id: Mapped[str] = mapped_column(ForeignKey("businesses.id"), index=True)
    url: Mapped[str] = mapped_column(String(URL_LENGTH))
    description: Mapped[str] = mapped_column(String(500), default="")
    event_types: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[EndpointStatus] = mapped_column(
        str_enum(EndpointStatus, 10), default=EndpointStatus.ENABLED
    )
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    disabled_reason: Mapped[str] = mapped_column(Text, default="")
    # The delivery whose failure made the server disable it (none: its owner did).
    disabled_by_delivery: Mapped[str | None] = mapped_column(String(ID_LENGTH), default=None)
    secret: Mapped[str] = mapped_column(String(100))
    previous_secret: Mapped[str | None] = mapped_column(String(100), default=None)
    previous_secret_until: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    from_position: Mapped[int] = mapped_column(BigInteger, default=0)
    last_success_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class WebhookDelivery(Leased, Base):
    """One event to one endpoint: one row per (endpoint, event), so reading an event again
    never sends it twice. `payload` is the exact body every attempt sends. A test event its
    owner asked for (`webhook.test`) has no event in the log: `event_id` is null."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=make_id)
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.id"))
    business_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    event_id: Mapped[int | None] = mapped_column(BigInteger)
    event_type: Mapped[str] = mapped_column(String(40))
    payload: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    last_error: Mapped[str] = mapped_column(Text, default="")
    last_status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    __table_args__ = (
        Index("ix_webhook_deliveries_once", "endpoint_id", "event_id", unique=True),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_endpoint_created", "endpoint_id", "created_at"),
    )


class WebhookAttempt(Base):
    """One try of a delivery: what came back and how long it took."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(ForeignKey("webhook_deliveries.id"), index=True)
    attempted_at: Mapped[datetime] = mapped_column(UtcDateTime())
    outcome: Mapped[AttemptOutcome] = mapped_column(str_enum(AttemptOutcome, 10))
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    response_body: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str] = mapped_column(Text, default="")
    duration_ms: Mapped[int] = mapped_column(Integer)
