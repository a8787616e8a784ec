"""The event types an endpoint can choose: the event log's entities and what happened to
them (docs/event-log.md), written `entity.kind` as the Standard Webhooks spec suggests."""

from __future__ import annotations

from ..events import Event, EventEntity, EventKind

__all__ = ["EVENT_TYPES", "TEST_EVENT_TYPE", "event_type"]

# Webhook endpoints' own events and billing notices are for the business's owner (a
# notification), not for webhooks.
_FOR_THE_OWNER = frozenset({EventEntity.WEBHOOK_ENDPOINT, EventEntity.BILLING_NOTICE})
_SENT = [entity for entity in EventEntity if entity not in _FOR_THE_OWNER]
_CHANGES = (EventKind.CREATED, EventKind.UPDATED, EventKind.REMOVED)

EVENT_TYPES: tuple[str, ...] = (
    *(f"{entity.value}.{kind.value}" for entity in _SENT for kind in _CHANGES),
    f"{EventEntity.CARD.value}.{EventKind.BALANCE_CHANGED.value}",
)


# What "send a test event" sends: to the one endpoint asked, whatever types it chose.
TEST_EVENT_TYPE = "webhook.test"


def event_type(event: Event) -> str:
    return f"{event.entity}.{event.kind}"
