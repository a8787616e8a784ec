"""What a business's owner does with webhooks — register, change, disable and enable
endpoints, rotate their secrets, resend deliveries, send a test event — and the server
disabling an endpoint that is gone or keeps failing."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from ..billing.subscriptions import require_open
from ..errors import (
    UnknownEventType,
    WebhookDeliveryNotFound,
    WebhookEndpointDisabled,
    WebhookEndpointNotFound,
    WebhookUrlRefused,
)
from ..events import EventEntity, EventKind, head_position, record
from ..outbox import Delivery, start_at_head
from . import repository
from .addresses import RefusedAddress, check_url
from .event_types import EVENT_TYPES, TEST_EVENT_TYPE
from .models import EndpointStatus, WebhookCursor, WebhookDelivery, WebhookEndpoint
from .signing import new_secret

__all__ = [
    "SECRET_OVERLAP",
    "EndpointChange",
    "active_secrets",
    "delivery_of",
    "disable_for_failure",
    "endpoint_of",
    "register",
    "remove",
    "resend",
    "rotate_secret",
    "send_test",
    "update",
]

# After a rotation the old secret signs beside the new one this long.
SECRET_OVERLAP = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class EndpointChange:
    """What an owner changes on an endpoint; None leaves it as it is."""

    url: str | None = None
    event_types: Sequence[str] | None = None
    description: str | None = None
    enabled: bool | None = None


def _checked_url(url: str, allow_private: bool) -> str:
    try:
        check_url(url, allow_private=allow_private)
    except RefusedAddress as exc:
        raise WebhookUrlRefused(str(exc)) from None
    return url


def _checked_types(event_types: Sequence[str]) -> list[str]:
    chosen = list(dict.fromkeys(event_types))
    unknown = [t for t in chosen if t not in EVENT_TYPES]
    if unknown:
        named = ", ".join(repr(t[:40]) for t in unknown[:3]) + (" …" if len(unknown) > 3 else "")
        raise UnknownEventType(
            f"There is no event type {named}: choose from GET /api/v1/webhooks/event-types."
        )
    if not chosen:
        raise UnknownEventType("Choose at least one event type (GET /api/v1/webhooks/event-types).")
    return chosen


def _start_sending(session: Session, endpoint: WebhookEndpoint) -> None:
    """The endpoint gets what happens from now on. When no other endpoint of the business
    is enabled, the business's log is read from its head too (what came before, nobody
    is waiting for)."""
    endpoint.from_position = head_position(session, endpoint.business_id)
    if not repository.others_enabled(session, endpoint.business_id, endpoint.id):
        start_at_head(session, WebhookCursor, endpoint.business_id)


def _send_what_waited(
    session: Session,
    endpoint: WebhookEndpoint,
    cursor: WebhookCursor,
    since: datetime,
    now: datetime,
) -> None:
    """Read the business's log again from the endpoint's place, for it (the others are past
    it), and make its waiting deliveries due now. What happened, or was written, before
    `since` is not sent: a receiver disabled that long is sent only what the delivery log
    still keeps."""
    expired = repository.last_position_before(
        session, endpoint.business_id, endpoint.from_position, since
    )
    if expired is not None:
        endpoint.from_position = expired
    if repository.others_enabled(session, endpoint.business_id, endpoint.id):
        cursor.position = min(cursor.position, endpoint.from_position)
    else:  # nobody else reads the log: nothing before the endpoint's place is needed
        cursor.position = endpoint.from_position
    days = round((now - since) / timedelta(days=1))
    repository.expire_waiting(
        session,
        endpoint.id,
        since,
        now,
        f"waited more than {days} days while the endpoint was disabled: not sent",
    )
    repository.wake_waiting(session, endpoint.id, now)


def register(
    session: Session,
    business_id: str,
    url: str,
    event_types: Sequence[str],
    description: str,
    *,
    allow_private: bool,
    now: datetime,
) -> WebhookEndpoint:
    require_open(session, business_id, "it registers no new webhook endpoints.")
    endpoint = WebhookEndpoint(
        business_id=business_id,
        url=_checked_url(url, allow_private),
        event_types=_checked_types(event_types),
        description=description,
        secret=new_secret(),
        created_at=now,
        updated_at=now,
    )
    session.add(endpoint)
    session.flush()
    _start_sending(session, endpoint)
    session.flush()
    return endpoint


def endpoint_of(session: Session, business_id: str, endpoint_id: str) -> WebhookEndpoint:
    endpoint = repository.endpoint(session, business_id, endpoint_id)
    if endpoint is None:
        raise WebhookEndpointNotFound(f"This business has no webhook endpoint {endpoint_id!r}.")
    return endpoint


def update(
    session: Session,
    endpoint: WebhookEndpoint,
    change: EndpointChange,
    *,
    allow_private: bool,
    now: datetime,
    kept: timedelta,
) -> WebhookEndpoint:
    """Apply the change, all or nothing. Disabling holds the endpoint's deliveries and its
    place in the log; enabling it again sends what waited (up to `kept` old) and what
    happens from then on."""
    cursor = None
    if change.enabled is True and endpoint.status is EndpointStatus.DISABLED:
        # The reader locks the cursor before it writes to endpoints: so does enabling,
        # before anything of the endpoint is written; then reads it as it stands.
        cursor = repository.locked_cursor(session, endpoint.business_id)
        session.refresh(endpoint)
    if change.url is not None:
        endpoint.url = _checked_url(change.url, allow_private)
    if change.event_types is not None:
        endpoint.event_types = _checked_types(change.event_types)
    if change.description is not None:
        endpoint.description = change.description
    if cursor is not None and endpoint.status is EndpointStatus.DISABLED:
        endpoint.status = EndpointStatus.ENABLED
        endpoint.disabled_at, endpoint.disabled_reason = None, ""
        endpoint.disabled_by_delivery = None
        _send_what_waited(session, endpoint, cursor, now - kept, now)
    elif change.enabled is False and endpoint.status is EndpointStatus.ENABLED:
        endpoint.status = EndpointStatus.DISABLED
        endpoint.disabled_at, endpoint.disabled_reason = now, "disabled by its owner"
    endpoint.updated_at = now
    session.flush()
    return endpoint


def remove(session: Session, endpoint: WebhookEndpoint, now: datetime) -> None:
    """Its owner deletes the endpoint: it is sent nothing more (what waited is given up),
    its secret is forgotten, and the API no longer finds it or its delivery log. The row
    stays, so a worker sending it this moment settles its attempt."""
    endpoint.status = EndpointStatus.DELETED
    endpoint.disabled_at, endpoint.disabled_reason = now, "deleted by its owner"
    endpoint.secret, endpoint.previous_secret, endpoint.previous_secret_until = "", None, None
    endpoint.updated_at = now
    repository.drop_waiting(session, endpoint.id, "its endpoint was deleted: not sent")
    session.flush()


def rotate_secret(session: Session, endpoint: WebhookEndpoint, now: datetime) -> WebhookEndpoint:
    """A new secret signs from now on; the old one signs beside it for `SECRET_OVERLAP`
    (a secret rotated out earlier stops at once)."""
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_until = now + SECRET_OVERLAP
    endpoint.secret = new_secret()
    endpoint.updated_at = now
    session.flush()
    return endpoint


def active_secrets(endpoint: WebhookEndpoint, at: datetime) -> list[str]:
    """The secrets that sign an attempt at `at`: the current one, and the one rotated out
    until its overlap ends."""
    secrets = [endpoint.secret]
    until = endpoint.previous_secret_until
    if endpoint.previous_secret and until is not None and at < until:
        secrets.append(endpoint.previous_secret)
    return secrets


def delivery_of(session: Session, endpoint: WebhookEndpoint, delivery_id: str) -> WebhookDelivery:
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.endpoint_id != endpoint.id:
        raise WebhookDeliveryNotFound(
            f"Endpoint {endpoint.id} has no delivery {delivery_id!r}: list its deliveries."
        )
    return delivery


def resend(
    session: Session, endpoint: WebhookEndpoint, delivery_id: str, now: datetime
) -> WebhookDelivery:
    """Send the delivery again now, with the same webhook-id, and on failure retry it on
    the whole schedule again. Its earlier attempts stay in its log."""
    delivery = delivery_of(session, endpoint, delivery_id)
    _refuse_if_disabled(endpoint)
    delivery.status = Delivery.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = now
    delivery.claimed_by = delivery.claimed_until = None
    session.flush()
    return delivery


def send_test(session: Session, endpoint: WebhookEndpoint, now: datetime) -> WebhookDelivery:
    """A `webhook.test` event for this endpoint alone, due now: signed, logged and retried
    like any delivery, so the owner sees in its delivery log what the receiver answered."""
    _refuse_if_disabled(endpoint)
    body = {
        "type": TEST_EVENT_TYPE,
        "timestamp": now.isoformat().replace("+00:00", "Z"),
        "data": {"business_id": endpoint.business_id, "endpoint_id": endpoint.id},
    }
    delivery = WebhookDelivery(
        endpoint_id=endpoint.id,
        business_id=endpoint.business_id,
        event_id=None,
        event_type=TEST_EVENT_TYPE,
        payload=json.dumps(body, separators=(",", ":")),
        next_attempt_at=now,
        created_at=now,
    )
    session.add(delivery)
    session.flush()
    return delivery


def _refuse_if_disabled(endpoint: WebhookEndpoint) -> None:
    if endpoint.status is EndpointStatus.DISABLED:
        raise WebhookEndpointDisabled(
            "The endpoint is disabled: enable it first (PATCH it with enabled: true)."
        )


def disable_for_failure(
    session: Session, endpoint_id: str, delivery_id: str, reason: str, now: datetime
) -> None:
    """The server disables an endpoint that is gone or keeps failing; its owner is told
    (through the event log: a notification)."""
    endpoint = session.get_one(WebhookEndpoint, endpoint_id, with_for_update=True)
    if endpoint.status is not EndpointStatus.ENABLED:
        return
    endpoint.status = EndpointStatus.DISABLED
    endpoint.disabled_at, endpoint.disabled_reason = now, reason
    endpoint.disabled_by_delivery = delivery_id
    endpoint.updated_at = now
    record(
        session, endpoint.business_id, EventEntity.WEBHOOK_ENDPOINT, endpoint.id, EventKind.UPDATED
    )
