"""Notifications' data access: preferences, push devices, the inbox, and the outbox's
claims."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from ..db import rowcount
from .models import (
    Channel,
    Delivery,
    InboxItem,
    Notification,
    NotificationKind,
    NotificationPreference,
    PushDevice,
)

__all__ = [
    "claim_due",
    "disabled_channels",
    "forget_push_tokens",
    "has_push_device",
    "inbox",
    "inbox_item",
    "preferences",
    "push_tokens",
    "unread_count",
]


def disabled_channels(session: Session, user_id: str, kind: NotificationKind) -> set[Channel]:
    return set(
        session.scalars(
            select(NotificationPreference.channel).where(
                NotificationPreference.user_id == user_id,
                NotificationPreference.kind == kind,
                NotificationPreference.enabled.is_(False),
            )
        )
    )


def preferences(session: Session, user_id: str) -> dict[tuple[NotificationKind, Channel], bool]:
    rows = session.scalars(
        select(NotificationPreference).where(NotificationPreference.user_id == user_id)
    )
    return {(row.kind, row.channel): row.enabled for row in rows}


def has_push_device(session: Session, user_id: str) -> bool:
    return (
        session.scalar(select(PushDevice.id).where(PushDevice.user_id == user_id).limit(1))
        is not None
    )


def forget_push_tokens(session: Session, tokens: tuple[str, ...]) -> None:
    """Phones the push service said are gone (uninstalled, or the token replaced)."""
    session.execute(delete(PushDevice).where(PushDevice.token.in_(tokens)))


def push_tokens(session: Session, user_id: str) -> tuple[str, ...]:
    return tuple(
        session.scalars(
            select(PushDevice.token).where(PushDevice.user_id == user_id).order_by(PushDevice.id)
        )
    )


def inbox(session: Session, user_id: str, *, unread_only: bool, limit: int) -> Sequence[InboxItem]:
    query = select(InboxItem).where(InboxItem.user_id == user_id)
    if unread_only:
        query = query.where(InboxItem.read_at.is_(None))
    return session.scalars(
        query.order_by(InboxItem.created_at.desc(), InboxItem.id.desc()).limit(limit)
    ).all()


def unread_count(session: Session, user_id: str) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(InboxItem)
            .where(InboxItem.user_id == user_id, InboxItem.read_at.is_(None))
        )
        or 0
    )


def inbox_item(session: Session, user_id: str, item_id: str) -> InboxItem | None:
    return session.scalar(
        select(InboxItem).where(InboxItem.id == item_id, InboxItem.user_id == user_id)
    )


def claim_due(
    session: Session, worker: str, now: datetime, until: datetime, limit: int
) -> list[int]:
    """Claim up to `limit` pending notifications that are due and not claimed by another
    worker whose claim still runs; their ids. PostgreSQL skips rows another worker is
    claiming this moment (FOR UPDATE SKIP LOCKED); SQLite's writers take turns."""
    due = (
        select(Notification.id)
        .where(
            Notification.status == Delivery.PENDING,
            Notification.next_attempt_at <= now,
            or_(Notification.claimed_until.is_(None), Notification.claimed_until < now),
        )
        .order_by(Notification.next_attempt_at, Notification.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = list(session.scalars(due))
    if ids:
        session.execute(
            update(Notification)
            .where(Notification.id.in_(ids))
            .values(
                claimed_by=worker,
                claimed_until=until,
                attempts=Notification.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
    return ids


def release(session: Session, notification_id: int, worker: str, values: dict[str, object]) -> bool:
    """Change a notification this worker still holds (its claim not taken over); whether
    it did."""
    result = session.execute(
        update(Notification)
        .where(
            and_(
                Notification.id == notification_id,
                Notification.claimed_by == worker,
                Notification.status == Delivery.PENDING,
            )
        )
        .values(claimed_by=None, claimed_until=None, **values)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1
