"""The reader: each business's new events become one delivery per enabled endpoint that
chose their type (written with ON CONFLICT DO NOTHING on (endpoint, event), so reading an
event again sends nothing twice). Only businesses with an enabled endpoint are read.

Each endpoint keeps its own place in the log, `from_position`: it gets only events after
it, and the reader moves it on for every enabled endpoint as it reads. A disabled
endpoint's place stays where it was, so what happens meanwhile waits in the log itself
(nothing is written for it, however long it stays disabled); enabling it moves the
business's cursor back to that place (`service.update`), and the events after it are read
again, for it alone: every other endpoint is past them.

Events are thin, as the log's are: they say what changed, and the receiver asks the API for
its state now (docs/api.md, "Webhooks")."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..events import Event, EventCounter
from ..ids import make_id
from ..outbox import insert_for, read_new_events
from . import repository
from .event_types import event_type
from .models import EndpointStatus, WebhookCursor, WebhookDelivery, WebhookEndpoint

__all__ = ["consume", "message_id", "payload"]


def message_id(event_id: int | None, delivery_id: str) -> str:
    """The webhook-id: the same for every attempt (and resend) of an event's delivery; a
    test event's is its delivery's own."""
    return f"msg_{event_id}" if event_id is not None else f"msg_test_{delivery_id}"


def payload(event: Event, now: datetime) -> str:
    """The body every attempt of the event's delivery sends, as the spec shapes it."""
    at = event.occurred_at or now
    return json.dumps(
        {
            "type": event_type(event),
            "timestamp": at.isoformat().replace("+00:00", "Z"),
            "data": {
                "business_id": event.business_id,
                "entity": event.entity,
                "id": event.entity_id,
                "kind": event.kind,
                "position": event.position,
            },
        },
        separators=(",", ":"),
    )


def consume(sessions: Callable[[], Session], batch: int, now: datetime) -> int:
    """Read every business's new events once (up to `batch` each) into deliveries due at
    `now`; the number of events read."""

    def write(session: Session, events: Sequence[Event]) -> None:
        endpoints = repository.enabled_endpoints(session, events[0].business_id)
        rows: list[dict[str, object]] = []
        for event in events:
            kind = event_type(event)
            body = payload(event, now)
            rows.extend(
                {
                    "id": make_id(),
                    "endpoint_id": endpoint.id,
                    "business_id": event.business_id,
                    "event_id": event.id,
                    "event_type": kind,
                    "payload": body,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for endpoint in endpoints
                if event.position > endpoint.from_position and kind in endpoint.event_types
            )
        if rows:
            session.execute(
                insert_for(session)(WebhookDelivery)
                .values(rows)
                .on_conflict_do_nothing(index_elements=["endpoint_id", "event_id"])
            )
        repository.read_up_to(session, [e.id for e in endpoints], events[-1].position)

    with_endpoints = EventCounter.business_id.in_(
        select(WebhookEndpoint.business_id).where(WebhookEndpoint.status == EndpointStatus.ENABLED)
    )
    return read_new_events(sessions, WebhookCursor, batch, write, among=with_endpoints)
