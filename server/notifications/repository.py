"""Notifications' data access: preferences, push devices and the inbox (the outbox's
claims are `server.outbox`'s)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from .models import (
    Channel,
    InboxItem,
    NotificationKind,
    NotificationPreference,
    PushDevice,
)

__all__ = [
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


def inbox(
    session: Session, user_id: str, *, unread_only: bool, offset: int, limit: int
) -> tuple[Sequence[InboxItem], int]:
    """A page of the person's inbox, newest first, and how many items it holds in all (of
    those unread, with `unread_only`)."""
    mine = InboxItem.user_id == user_id
    wanted = (mine, InboxItem.read_at.is_(None)) if unread_only else (mine,)
    items = session.scalars(
        select(InboxItem)
        .where(*wanted)
        .order_by(InboxItem.created_at.desc(), InboxItem.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    total = session.scalar(select(func.count()).select_from(InboxItem).where(*wanted))
    return items, int(total or 0)


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
