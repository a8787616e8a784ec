"""Writing the outbox: one row per (kind, source, person, channel), never a second.

Three writers use it: the consumer (from the event log), the reminders (from the clock), and
the messages no event causes — account mail (a one-time code) and security messages — written
in the transaction of the change they tell of (`Outbox`). A row is written with ON CONFLICT
DO NOTHING on that key, so reading an event again, a reminder found again by the next round,
or two workers finding it at once, writes nothing new.

Who gets what: account mail goes by email only (it is how an address proves itself). Until
an address is confirmed it gets, besides, only what cannot be turned off — receipts and
security messages; alerts (a low balance, an incident…) reach the inbox and push until
then, so an address someone else typed is not sent more than that (docs/api.md, "Email
verification").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from ..accounts.models import User
from ..db import utcnow
from ..outbox import insert_for
from . import templates
from .models import ACCOUNT_MAIL_KINDS, REQUIRED_KINDS, Channel, Notification, NotificationKind
from .repository import disabled_channels, has_push_device

__all__ = ["FROM_THE_CLOCK", "Channels", "Outbox", "Planned", "channels_for", "write"]

FROM_THE_CLOCK = None  # the event_id of a reminder: no event caused it, the date did


@dataclass(frozen=True, slots=True)
class Channels:
    email: bool  # an SMTP server is set
    push: bool  # a push transport is set


@dataclass(frozen=True, slots=True)
class Planned:
    kind: NotificationKind
    source_id: str  # what it is about: one message per source, kind, person and channel
    user_id: str
    business_id: str | None
    event_id: int | None  # the event that caused it; None: the clock, or an account change
    message: templates.Message


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


ROWS_PER_INSERT = 1000
"""Outbox rows per INSERT: 14 values each stays well under PostgreSQL's 65,535 parameters
(and SQLite's 32,766) a statement."""


def _rows(
    session: Session,
    planned: Planned,
    channels: Channels,
    now: datetime,
    chosen_for: dict[tuple[str, NotificationKind], set[Channel]],
) -> Iterable[dict[str, object]]:
    key = (planned.user_id, planned.kind)
    if key not in chosen_for:
        user = session.get(User, planned.user_id)
        chosen_for[key] = (
            set()
            if user is None
            else channels_for(session, user, planned.kind, email=channels.email, push=channels.push)
        )
    for channel in sorted(chosen_for[key]):
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
    """Put each planned message in the outbox on every channel its person gets it by.

    The same message planned twice (several events of one card in a batch each find the
    card's recent transfers) is written once, the first planned: what its row's key would
    make of it anyway, without asking for each copy who gets it by what channel."""
    unique: dict[tuple[NotificationKind, str, str], Planned] = {}
    for each in planned:
        unique.setdefault((each.kind, each.source_id, each.user_id), each)
    chosen_for: dict[tuple[str, NotificationKind], set[Channel]] = {}
    rows = [row for p in unique.values() for row in _rows(session, p, channels, now, chosen_for)]
    for start in range(0, len(rows), ROWS_PER_INSERT):
        session.execute(
            insert_for(session)(Notification)
            .values(rows[start : start + ROWS_PER_INSERT])
            .on_conflict_do_nothing(index_elements=["kind", "source_id", "user_id", "channel"])
        )


@dataclass(frozen=True, slots=True)
class Outbox:
    """Writes messages about one person that no event causes: `email` when a mail server is
    set, `push` when a push transport is."""

    email: bool
    push: bool

    def write(
        self,
        session: Session,
        user: User,
        kind: NotificationKind,
        source_id: str,
        message: templates.Message,
    ) -> None:
        """One row per channel, once per (kind, source, person, channel): writing the same
        again adds nothing."""
        planned = Planned(kind, source_id, user.id, None, None, message)
        write(session, [planned], Channels(email=self.email, push=self.push), utcnow())
