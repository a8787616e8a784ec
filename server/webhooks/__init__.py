"""Webhooks for vendors (DESIGN.md §14): a business's endpoints are sent the events of its
log they chose, signed as the Standard Webhooks spec says, retried for about three days,
with every attempt logged; see docs/api.md, "Webhooks"."""

from .event_types import EVENT_TYPES
from .models import (
    AttemptOutcome,
    EndpointStatus,
    WebhookAttempt,
    WebhookCursor,
    WebhookDelivery,
    WebhookEndpoint,
)
from .transport import Answer, HttpSender, Sender
from .worker import WebhookWorker

__all__ = [
    "EVENT_TYPES",
    "Answer",
    "AttemptOutcome",
    "EndpointStatus",
    "HttpSender",
    "Sender",
    "WebhookAttempt",
    "WebhookCursor",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookWorker",
]
