"""Writing the outbox: one row per (kind, source, person, channel), never a second.

Both writers use it: the consumer (from the event log) and the reminders (from the clock).
A row is written with ON CONFLICT DO NOTHING on that key, so reading an event again, a
reminder found again by the next round, or two workers finding it at once, writes nothing
new.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from ..outbox import insert_for
from . import templates
from .models import Channel, Notification, NotificationKind
from .repository import disabled_channels, has_push_device

__all__ = ["FROM_THE_CLOCK", "Channels", "Planned", "write"]

FROM_THE_CLOCK = 0  # the event_id of a reminder: no event caused it, the date did


@dataclass(frozen=True, slots=True)
class Channels:
    email: bool  # an SMTP server is set
    push: bool  # a push transport is set


@dataclass(frozen=True, slots=True)
class Planned:
    kind: NotificationKind
    source_id: str  # what it is about: one message per source, kind, person and channel
    user_id: str
    business_id: str
    event_id: int  # the event that caused it, or FROM_THE_CLOCK
    message: templates.Message


def _rows(
    session: Session, planned: Planned, channels: Channels, now: datetime
) -> Iterable[dict[str, object]]:
    chosen = {Channel.INBOX}
    if channels.email:
        chosen.add(Channel.EMAIL)
    if channels.push and has_push_device(session, planned.user_id):
        chosen.add(Channel.PUSH)
    chosen -= disabled_channels(session, planned.user_id, planned.kind)
    for channel in sorted(chosen):
        yield {
            "kind": planned.kind,
            "source_id": planned.source_id,
            "user_id": planned.user_id,
            "channel": channel,
            "business_id": planned.business_id,
            "event_id": planned.event_id,
            "title": planned.message.title,
            "body_text": planned.message.text,
            "body_html": planned.message.html,
            "next_attempt_at": now,
            "created_at": now,
        }


def write(session: Session, planned: Iterable[Planned], channels: Channels, now: datetime) -> None:
    """Put each planned message in the outbox on every channel its person has on."""
    rows = [row for p in planned for row in _rows(session, p, channels, now)]
    if rows:
        session.execute(
            insert_for(session)(Notification)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["kind", "source_id", "user_id", "channel"])
        )
