"""Webhooks' data access: a business's endpoints, an endpoint's deliveries and a delivery's
attempts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ..db import page_of, rowcount
from ..outbox import Delivery
from ..pages import PageRequest
from .models import EndpointStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint

__all__ = [
    "attempts",
    "deliveries",
    "enabled_endpoints",
    "endpoint",
    "endpoints",
    "first_attempt_at",
    "forget_finished",
    "others_enabled",
]


def endpoints(
    session: Session, business_id: str, asked: PageRequest
) -> tuple[list[WebhookEndpoint], int]:
    """One page of the business's endpoints, oldest first, and how many it has."""
    query = select(WebhookEndpoint).where(WebhookEndpoint.business_id == business_id)
    return page_of(session, query.order_by(WebhookEndpoint.created_at, WebhookEndpoint.id), asked)


def enabled_endpoints(session: Session, business_id: str) -> Sequence[WebhookEndpoint]:
    return session.scalars(
        select(WebhookEndpoint).where(
            WebhookEndpoint.business_id == business_id,
            WebhookEndpoint.status == EndpointStatus.ENABLED,
        )
    ).all()


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
    found = session.get(WebhookEndpoint, endpoint_id)
    return found if found is not None and found.business_id == business_id else None


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
