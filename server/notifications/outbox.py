"""Messages the event log does not cause — account mail (a one-time code) and security
messages — written straight into the outbox, in the transaction of the change they tell of,
and delivered by the same worker as the rest.

Who gets what: account mail goes by email only (it is how an address proves itself).
Until an address is confirmed it gets, besides, only what cannot be turned off — receipts
and security messages; alerts (a low balance, an incident…) reach the inbox and push until
then, so an address someone else typed is not sent more than that (docs/api.md, "Email
verification").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..accounts.models import User
from ..db import utcnow
from .models import ACCOUNT_MAIL_KINDS, REQUIRED_KINDS, Channel, Notification, NotificationKind
from .repository import disabled_channels, has_push_device
from .templates import Message

__all__ = ["Outbox", "channels_for"]

_INSERTS: dict[str, Callable[..., Any]] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def channels_for(
    session: Session, user: User, kind: NotificationKind, *, email: bool, push: bool
) -> set[Channel]:
    """The channels a message of `kind` goes by to `user`: none once the account is
    deleted; email alone for account mail; else the inbox, email (when a mail server is
    set; alerts only to a confirmed address), push to a registered phone — less what the
    person turned off."""
    if user.deleted_at is not None:
        return set()
    if kind in ACCOUNT_MAIL_KINDS:
        return {Channel.EMAIL}
    channels = {Channel.INBOX}
    if email and (user.email_verified_at is not None or kind in REQUIRED_KINDS):
        channels.add(Channel.EMAIL)
    if push and has_push_device(session, user.id):
        channels.add(Channel.PUSH)
    return channels - disabled_channels(session, user.id, kind)


@dataclass(frozen=True, slots=True)
class Outbox:
    """Writes messages about one person: `email` when a mail server is set, `push` when a
    push transport is."""

    email: bool
    push: bool

    def write(
        self, session: Session, user: User, kind: NotificationKind, source_id: str, message: Message
    ) -> None:
        """One row per channel, once per (kind, source, person, channel): writing the same
        again adds nothing."""
        now = utcnow()
        channels = channels_for(session, user, kind, email=self.email, push=self.push)
        rows = [
            {
                "kind": kind,
                "source_id": source_id,
                "user_id": user.id,
                "channel": channel,
                "business_id": None,
                "event_id": None,
                "title": message.title,
                "body_text": message.text,
                "body_html": message.html,
                "next_attempt_at": now,
                "created_at": now,
            }
            for channel in sorted(channels)
        ]
        if rows:
            upsert = _INSERTS[session.get_bind().dialect.name]
            session.execute(
                upsert(Notification)
                .values(rows)
                .on_conflict_do_nothing(index_elements=["kind", "source_id", "user_id", "channel"])
            )
