"""Webhooks' data access: a business's endpoints and how far each has been read, an
endpoint's deliveries and a delivery's attempts, and the reader's cursors."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, delete, func, or_, select, update
from sqlalchemy.orm import Session

from ..db import page_of, rowcount
from ..events import Event
from ..outbox import Backlog, Delivery, backlog
from ..outbox.cursors import locked
from ..pages import PageRequest
from .models import (
    EndpointStatus,
    WebhookAttempt,
    WebhookCursor,
    WebhookDelivery,
    WebhookEndpoint,
)

__all__ = [
    "attempts",
    "deliveries",
    "drop_waiting",
    "due_backlog",
    "enabled_endpoints",
    "endpoint",
    "endpoints",
    "expire_waiting",
    "first_attempt_at",
    "forget_finished",
    "last_position_before",
    "locked_cursor",
    "others_enabled",
    "read_up_to",
    "wake_waiting",
]


def endpoints(
    session: Session, business_id: str, asked: PageRequest
) -> tuple[list[WebhookEndpoint], int]:
    """One page of the business's endpoints, oldest first, and how many it has."""
    query = select(WebhookEndpoint).where(
        WebhookEndpoint.business_id == business_id,
        WebhookEndpoint.status != EndpointStatus.DELETED,
    )
    return page_of(session, query.order_by(WebhookEndpoint.created_at, WebhookEndpoint.id), asked)


def enabled_endpoints(session: Session, business_id: str) -> Sequence[WebhookEndpoint]:
    return session.scalars(
        select(WebhookEndpoint).where(
            WebhookEndpoint.business_id == business_id,
            WebhookEndpoint.status == EndpointStatus.ENABLED,
        )
    ).all()


def read_up_to(session: Session, endpoint_ids: Sequence[str], position: int) -> None:
    """Note that the business's log up to `position` has been turned into these endpoints'
    deliveries (never moving one back)."""
    session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id.in_(endpoint_ids), WebhookEndpoint.from_position < position)
        .values(from_position=position)
    )


def locked_cursor(session: Session, business_id: str) -> WebhookCursor:
    """The reader's cursor on the business's log, locked until the commit."""
    return locked(session, WebhookCursor, business_id)


def last_position_before(
    session: Session, business_id: str, after: int, before: datetime
) -> int | None:
    """The last position after `after` of an event that happened before `before`."""
    return session.scalar(
        select(func.max(Event.position)).where(
            Event.business_id == business_id,
            Event.position > after,
            Event.occurred_at < before,
        )
    )


def _waiting(endpoint_id: str, now: datetime) -> list[ColumnElement[bool]]:
    """The endpoint's pending deliveries that no worker is sending this moment."""
    return [
        WebhookDelivery.endpoint_id == endpoint_id,
        WebhookDelivery.status == Delivery.PENDING,
        or_(WebhookDelivery.claimed_until.is_(None), WebhookDelivery.claimed_until < now),
    ]


def expire_waiting(
    session: Session, endpoint_id: str, before: datetime, now: datetime, reason: str
) -> int:
    """Give up the endpoint's waiting deliveries written before `before`; how many."""
    return rowcount(
        session.execute(
            update(WebhookDelivery)
            .where(*_waiting(endpoint_id, now), WebhookDelivery.created_at < before)
            .values(status=Delivery.FAILED, last_error=reason)
            .execution_options(synchronize_session=False)
        )
    )


def wake_waiting(session: Session, endpoint_id: str, now: datetime) -> int:
    """Make the endpoint's waiting deliveries due now, each with the whole retry schedule
    ahead of it again; how many."""
    return rowcount(
        session.execute(
            update(WebhookDelivery)
            .where(*_waiting(endpoint_id, now))
            .values(next_attempt_at=now, attempts=0)
            .execution_options(synchronize_session=False)
        )
    )


def others_enabled(session: Session, business_id: str, endpoint_id: str) -> bool:
    """Whether the business has an enabled endpoint besides this one."""
    found = session.scalar(
        select(WebhookEndpoint.id)
        .where(
            WebhookEndpoint.business_id == business_id,
            WebhookEndpoint.status == EndpointStatus.ENABLED,
            WebhookEndpoint.id != endpoint_id,
        )
        .limit(1)
    )
    return found is not None


def endpoint(session: Session, business_id: str, endpoint_id: str) -> WebhookEndpoint | None:
    """The business's endpoint, unless it was deleted."""
    found = session.get(WebhookEndpoint, endpoint_id)
    if found is None or found.business_id != business_id:
        return None
    return None if found.status is EndpointStatus.DELETED else found


def drop_waiting(session: Session, endpoint_id: str, reason: str) -> int:
    """Give up every pending delivery of the endpoint; how many. One a worker is sending
    this moment is settled by its attempt."""
    return rowcount(
        session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.endpoint_id == endpoint_id,
                WebhookDelivery.status == Delivery.PENDING,
            )
            .values(status=Delivery.FAILED, last_error=reason)
            .execution_options(synchronize_session=False)
        )
    )


def deliveries(
    session: Session, endpoint_id: str, status: Delivery | None, asked: PageRequest
) -> tuple[list[WebhookDelivery], int]:
    """One page of the endpoint's deliveries (in `status`), newest first, and how many."""
    query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    newest_first = query.order_by(
        WebhookDelivery.created_at.desc(), WebhookDelivery.event_id.desc()
    )
    return page_of(session, newest_first, asked)


def attempts(session: Session, delivery_id: str) -> Sequence[WebhookAttempt]:
    return session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id == delivery_id)
        .order_by(WebhookAttempt.id)
    ).all()


def first_attempt_at(session: Session, delivery_id: str) -> datetime | None:
    return session.scalar(
        select(func.min(WebhookAttempt.attempted_at)).where(
            WebhookAttempt.delivery_id == delivery_id
        )
    )


def forget_finished(session: Session, before: datetime, limit: int) -> int:
    """Delete up to `limit` sent or failed deliveries written before `before`, with their
    attempts; how many."""
    ids = list(
        session.scalars(
            select(WebhookDelivery.id)
            .where(
                WebhookDelivery.status.in_([Delivery.SENT, Delivery.FAILED]),
                WebhookDelivery.created_at < before,
            )
            .limit(limit)
        )
    )
    if not ids:
        return 0
    session.execute(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(ids)))
    return rowcount(
        session.execute(
            delete(WebhookDelivery).where(
                WebhookDelivery.id.in_(ids),
                WebhookDelivery.status.in_([Delivery.SENT, Delivery.FAILED]),
            )
        )
    )


def due_backlog(session: Session, now: datetime) -> Backlog:
    """The deliveries due to enabled endpoints and not sent yet (a disabled endpoint's wait
    for its owner, not for the worker)."""
    enabled = select(WebhookEndpoint.id).where(WebhookEndpoint.status == EndpointStatus.ENABLED)
    due = backlog(session, WebhookDelivery, now, WebhookDelivery.endpoint_id.in_(enabled))
    return due.get(None, Backlog())
