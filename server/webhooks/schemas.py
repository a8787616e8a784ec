"""Webhooks' API models."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from sync.wire import Flag, Line

from ..outbox import Delivery
from ..pages import Page
from ..patches import Body
from .consumer import message_id
from .models import (
    URL_LENGTH,
    AttemptOutcome,
    EndpointStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

EventTypes = list[Line]


class EndpointCreate(Body):
    url: Line = Field(max_length=URL_LENGTH, description="https:// where deliveries are POSTed")
    event_types: EventTypes = Field(
        min_length=1, max_length=100, description="from GET /webhooks/event-types"
    )
    description: Line = Field(default="", max_length=500)


class EndpointUpdate(Body):
    url: Line | None = Field(default=None, max_length=URL_LENGTH)
    event_types: EventTypes | None = Field(default=None, min_length=1, max_length=100)
    description: Line | None = Field(default=None, max_length=500)
    enabled: Flag | None = Field(
        default=None,
        description="false holds its deliveries; true sends them, and what happens from now on",
    )


class EndpointPublic(BaseModel):
    id: str
    business_id: str
    url: str
    description: str
    event_types: list[str]
    status: EndpointStatus
    disabled_at: datetime | None
    disabled_reason: str = Field(description="why it is disabled (empty while enabled)")
    previous_secret_expires_at: datetime | None = Field(
        description="until then the secret rotated out signs beside the current one"
    )
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, endpoint: WebhookEndpoint) -> EndpointPublic:
        return cls(
            id=endpoint.id,
            business_id=endpoint.business_id,
            url=endpoint.url,
            description=endpoint.description,
            event_types=endpoint.event_types,
            status=endpoint.status,
            disabled_at=endpoint.disabled_at,
            disabled_reason=endpoint.disabled_reason,
            previous_secret_expires_at=endpoint.previous_secret_until,
            created_at=endpoint.created_at,
            updated_at=endpoint.updated_at,
        )


class EndpointSecret(BaseModel):
    secret: str = Field(description="whsec_…: verify deliveries with it")
    previous_secret: str | None = Field(description="the secret rotated out, while it still signs")
    previous_secret_expires_at: datetime | None

    @classmethod
    def of(cls, endpoint: WebhookEndpoint, now: datetime) -> EndpointSecret:
        until = endpoint.previous_secret_until
        still = until is not None and now < until
        return cls(
            secret=endpoint.secret,
            previous_secret=endpoint.previous_secret if still else None,
            previous_secret_expires_at=until if still else None,
        )


class EndpointCreated(EndpointPublic):
    secret: str = Field(description="whsec_…: verify deliveries with it (GET …/secret again)")


class AttemptPublic(BaseModel):
    attempted_at: datetime
    outcome: AttemptOutcome
    status_code: int | None = Field(description="the receiver's HTTP status; null: no answer")
    response_body: str = Field(description="the answer's first 2 KiB")
    error: str
    duration_ms: int

    @classmethod
    def of(cls, attempt: WebhookAttempt) -> AttemptPublic:
        return cls(
            attempted_at=attempt.attempted_at,
            outcome=attempt.outcome,
            status_code=attempt.status_code,
            response_body=attempt.response_body,
            error=attempt.error,
            duration_ms=attempt.duration_ms,
        )


class DeliveryPublic(BaseModel):
    id: str
    message_id: str = Field(description="the webhook-id header: the same on every attempt")
    event_type: str
    status: Delivery = Field(description="pending (more attempts to come), sent or failed")
    attempts: int = Field(description="attempts since it was written or last resent")
    next_attempt_at: datetime | None = Field(description="while pending")
    last_status_code: int | None
    last_error: str
    created_at: datetime
    sent_at: datetime | None

    @classmethod
    def of(cls, delivery: WebhookDelivery) -> DeliveryPublic:
        return cls(
            id=delivery.id,
            message_id=message_id(delivery.event_id, delivery.id),
            event_type=delivery.event_type,
            status=delivery.status,
            attempts=delivery.attempts,
            next_attempt_at=delivery.next_attempt_at
            if delivery.status is Delivery.PENDING
            else None,
            last_status_code=delivery.last_status_code,
            last_error=delivery.last_error,
            created_at=delivery.created_at,
            sent_at=delivery.sent_at,
        )


class DeliveryDetail(DeliveryPublic):
    payload: dict[str, Any] = Field(description="the body every attempt sends")
    attempt_log: list[AttemptPublic] = Field(description="every attempt, oldest first")

    @classmethod
    def with_attempts(
        cls, delivery: WebhookDelivery, attempts: list[WebhookAttempt]
    ) -> DeliveryDetail:
        return cls(
            **DeliveryPublic.of(delivery).model_dump(),
            payload=json.loads(delivery.payload),
            attempt_log=[AttemptPublic.of(a) for a in attempts],
        )


class EndpointPage(Page[EndpointPublic]):
    """One page of a business's webhook endpoints, oldest first."""


class DeliveryPage(Page[DeliveryPublic]):
    """One page of an endpoint's deliveries, newest first."""
