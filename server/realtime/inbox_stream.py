"""A person's inbox as a stream: an `inbox` event whenever it changes (an item arrives, one is
read), with the unread count and the newest item. The app shows the badge from it, and reads
`GET /me/inbox` for the rest.

The event's id is `<items>.<unread>`: sent back as Last-Event-ID, the stream says nothing
until the inbox differs from that. The notification worker wakes the stream when it writes
an item (`inbox_key`), in whatever process it runs, through the same wake-ups as the event
log; the stream also looks now and then unwoken.
"""

from __future__ import annotations

import functools
import re
from collections.abc import AsyncIterator, Callable
from datetime import datetime

import anyio
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sse_starlette import ServerSentEvent

from ..notifications.models import InboxItem, NotificationKind
from .wakeups import Listeners, inbox_key

__all__ = ["INBOX_CHANGED", "InboxChanged", "inbox_changes", "parse_inbox_state"]

INBOX_CHANGED = "inbox"
RECHECK_SECONDS = 20.0
_STATE = re.compile(r"([0-9]{1,18})\.([0-9]{1,18})")


class NewestItem(BaseModel):
    id: str
    kind: NotificationKind
    title: str
    created_at: datetime


class InboxChanged(BaseModel):
    """Your inbox changed: how many items are unread now, and the newest one."""

    unread: int
    total: int = Field(description="items in the inbox, read or not")
    newest: NewestItem | None


def parse_inbox_state(last_event_id: str | None) -> tuple[int, int] | None:
    found = _STATE.fullmatch((last_event_id or "").strip())
    return (int(found[1]), int(found[2])) if found else None


def _read(sessions: Callable[[], Session], user_id: str) -> InboxChanged:
    with sessions() as session:
        total, unread = session.execute(
            select(
                func.count(),
                func.count().filter(InboxItem.read_at.is_(None)),
            ).where(InboxItem.user_id == user_id)
        ).one()
        newest = session.scalars(
            select(InboxItem)
            .where(InboxItem.user_id == user_id)
            .order_by(InboxItem.created_at.desc(), InboxItem.id.desc())
            .limit(1)
        ).first()
        return InboxChanged(
            unread=unread,
            total=total,
            newest=None
            if newest is None
            else NewestItem(
                id=newest.id, kind=newest.kind, title=newest.title, created_at=newest.created_at
            ),
        )


async def inbox_changes(
    sessions: Callable[[], Session],
    listeners: Listeners,
    user_id: str,
    seen: tuple[int, int] | None,
) -> AsyncIterator[ServerSentEvent]:
    """An `inbox` event at once (unless `seen` is how it stands), then at each change."""
    listener = listeners.listen([inbox_key(user_id)])
    try:
        while True:
            listener.woken.clear()
            now = await anyio.to_thread.run_sync(functools.partial(_read, sessions, user_id))
            state = (now.total, now.unread)
            if state != seen:
                seen = state
                yield ServerSentEvent(
                    now.model_dump_json(), event=INBOX_CHANGED, id=f"{state[0]}.{state[1]}"
                )
            await listener.wait(RECHECK_SECONDS)
    finally:
        listeners.forget(listener)
