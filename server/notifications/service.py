"""What people do with their notifications: read the inbox, choose what to hear about, and
register phones for push."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..db import utcnow
from ..errors import InboxItemNotFound, NotificationRequired
from . import repository
from .models import (
    ACCOUNT_MAIL_KINDS,
    REQUIRED_KINDS,
    Channel,
    InboxItem,
    NotificationKind,
    NotificationPreference,
    PushDevice,
)

__all__ = ["Preference", "mark_read", "preferences", "register_push_device", "set_preferences"]


@dataclass(frozen=True, slots=True)
class Preference:
    kind: NotificationKind
    channel: Channel
    enabled: bool
    required: bool


def preferences(session: Session, user_id: str) -> list[Preference]:
    """Every kind on every channel: on unless turned off; receipts and security messages
    always on. Account mail (a one-time code, by email) is no choice and not listed."""
    chosen = repository.preferences(session, user_id)
    return [
        Preference(
            kind,
            channel,
            kind in REQUIRED_KINDS or chosen.get((kind, channel), True),
            kind in REQUIRED_KINDS,
        )
        for kind in NotificationKind
        if kind not in ACCOUNT_MAIL_KINDS
        for channel in Channel
    ]


def set_preferences(
    session: Session, user_id: str, changes: Iterable[tuple[NotificationKind, Channel, bool]]
) -> list[Preference]:
    """Apply the changes, all or none: turning off a receipt is refused."""
    changes = list(changes)
    for kind, channel, enabled in changes:
        if kind in REQUIRED_KINDS and not enabled:
            raise NotificationRequired(
                f"{kind.value.replace('_', ' ')} is a receipt or a security message and cannot "
                "be turned off "
                f"(on {channel.value} or any channel)."
            )
    for kind, channel, enabled in changes:
        key = (user_id, kind, channel)
        row = session.get(NotificationPreference, key)
        if row is None:
            try:
                with session.begin_nested():
                    session.add(
                        NotificationPreference(
                            user_id=user_id, kind=kind, channel=channel, enabled=enabled
                        )
                    )
                continue
            except IntegrityError:  # the same pair, saved by another request just now
                row = session.get(NotificationPreference, key)
                assert row is not None
        row.enabled = enabled
    session.flush()
    return preferences(session, user_id)


def mark_read(
    session: Session, user_id: str, item_id: str, now: datetime | None = None
) -> InboxItem:
    item = repository.inbox_item(session, user_id, item_id)
    if item is None:
        raise InboxItemNotFound(f"You have no inbox item {item_id}.")
    if item.read_at is None:
        item.read_at = now or utcnow()
    return item


def register_push_device(session: Session, user_id: str, token: str) -> PushDevice:
    """The phone's registration token; registered again, it moves to this person (a phone
    changes hands with a new sign-in)."""
    device = session.scalar(select(PushDevice).where(PushDevice.token == token))
    if device is None:
        try:
            with session.begin_nested():
                device = PushDevice(user_id=user_id, token=token)
                session.add(device)
            return device
        except IntegrityError:  # registered by another request just now: moved here below
            device = session.scalar(select(PushDevice).where(PushDevice.token == token))
            assert device is not None
    device.user_id = user_id
    session.flush()
    return device
