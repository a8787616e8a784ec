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

from sqlalchemy import and_, exists, literal, select, text
from sqlalchemy.orm import Session

from ..accounts.models import User
from ..db import utcnow
from ..outbox import insert_for
from . import templates
from .models import (
    ACCOUNT_MAIL_KINDS,
    REQUIRED_KINDS,
    Channel,
    Delivery,
    Notification,
    NotificationKind,
    NotificationPreference,
    PushDevice,
)
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


@dataclass(frozen=True, slots=True)
class _Person:
    """What choosing a person's channels needs to know of them."""

    deleted: bool
    verified: bool  # their email address is confirmed
    has_phone: bool  # a phone registered for push
    disabled: frozenset[tuple[NotificationKind, Channel]]  # what they turned off


def _channels(person: _Person, kind: NotificationKind, channels: Channels) -> set[Channel]:
    if person.deleted:
        return set()
    if kind in ACCOUNT_MAIL_KINDS:
        return {Channel.EMAIL}
    chosen = {Channel.INBOX}
    if channels.email and (person.verified or kind in REQUIRED_KINDS):
        chosen.add(Channel.EMAIL)
    if channels.push and person.has_phone:
        chosen.add(Channel.PUSH)
    return {channel for channel in chosen if (kind, channel) not in person.disabled}


def channels_for(
    session: Session, user: User, kind: NotificationKind, *, email: bool, push: bool
) -> set[Channel]:
    """The channels a message of `kind` goes by to `user`: none once the account is
    deleted; email alone for account mail; else the inbox, email (when a mail server is
    set; alerts only to a confirmed address), push to a registered phone — less what the
    person turned off."""
    person = _Person(
        user.deleted_at is not None,
        user.email_verified_at is not None,
        has_push_device(session, user.id),
        frozenset((kind, channel) for channel in disabled_channels(session, user.id, kind)),
    )
    return _channels(person, kind, Channels(email=email, push=push))


def _people(
    session: Session, user_ids: Iterable[str], kinds: Iterable[NotificationKind], push: bool
) -> dict[str, _Person]:
    """Everyone `user_ids` names who has an account, with what they turned off of `kinds`:
    one query for all of them (a person's row repeats once per choice turned off)."""
    has_phone = (exists().where(PushDevice.user_id == User.id) if push else literal(False)).label(
        "has_phone"
    )
    off = and_(
        NotificationPreference.user_id == User.id,
        NotificationPreference.enabled.is_(False),
        NotificationPreference.kind.in_(set(kinds)),
    )
    found = session.execute(
        select(
            User.id,
            User.deleted_at,
            User.email_verified_at,
            has_phone,
            NotificationPreference.kind,
            NotificationPreference.channel,
        )
        .outerjoin(NotificationPreference, off)
        .where(User.id.in_(set(user_ids)))
    )
    facts: dict[str, tuple[bool, bool, bool]] = {}
    disabled: dict[str, set[tuple[NotificationKind, Channel]]] = {}
    for user_id, deleted_at, verified_at, phone, kind, channel in found:
        facts[user_id] = (deleted_at is not None, verified_at is not None, bool(phone))
        if kind is not None:
            disabled.setdefault(user_id, set()).add((kind, channel))
    return {
        user_id: _Person(deleted, verified, phone, frozenset(disabled.get(user_id, ())))
        for user_id, (deleted, verified, phone) in facts.items()
    }


ROWS_PER_INSERT = 1000
"""Outbox rows per INSERT on SQLite: 11 values each stays well under its 32,766 parameters
a statement (PostgreSQL's INSERT takes arrays: any number of rows, one parameter a column)."""

_COLUMNS = (
    "kind",
    "source_id",
    "user_id",
    "channel",
    "business_id",
    "event_id",
    "title",
    "body_text",
    "body_html",
)

_INSERT_ROWS = text(
    """
    INSERT INTO notifications (kind, source_id, user_id, channel, business_id, event_id,
        title, body_text, body_html, status, attempts, next_attempt_at, last_error, created_at)
    SELECT row.kind, row.source_id, row.user_id, row.channel, row.business_id, row.event_id,
        row.title, row.body_text, row.body_html, :status, 0, :now, '', :now
    FROM unnest(
        CAST(:kind AS varchar[]), CAST(:source_id AS varchar[]), CAST(:user_id AS varchar[]),
        CAST(:channel AS varchar[]), CAST(:business_id AS varchar[]),
        CAST(:event_id AS bigint[]), CAST(:title AS varchar[]), CAST(:body_text AS text[]),
        CAST(:body_html AS text[])
    ) AS row (kind, source_id, user_id, channel, business_id, event_id, title, body_text,
        body_html)
    ON CONFLICT (kind, source_id, user_id, channel) DO NOTHING
    """
)


def _insert(session: Session, rows: list[tuple[object, ...]], now: datetime) -> None:
    """The rows, each once (ON CONFLICT DO NOTHING on the outbox's key). PostgreSQL: one
    statement of arrays, its text the same for any number of rows (one prepared form);
    SQLite: a statement per `ROWS_PER_INSERT`."""
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        columns = zip(*rows, strict=True)
        arrays = {name: list(values) for name, values in zip(_COLUMNS, columns, strict=True)}
        for enum_column in ("kind", "channel"):  # psycopg would send an enum's name
            arrays[enum_column] = [str(value) for value in arrays[enum_column]]
        session.execute(_INSERT_ROWS, {**arrays, "status": Delivery.PENDING.value, "now": now})
        return
    for start in range(0, len(rows), ROWS_PER_INSERT):
        values = [
            {**dict(zip(_COLUMNS, row, strict=True)), "next_attempt_at": now, "created_at": now}
            for row in rows[start : start + ROWS_PER_INSERT]
        ]
        session.execute(
            insert_for(session)(Notification)
            .values(values)
            .on_conflict_do_nothing(index_elements=["kind", "source_id", "user_id", "channel"])
        )


def write(session: Session, planned: Iterable[Planned], channels: Channels, now: datetime) -> None:
    """Put each planned message in the outbox on every channel its person gets it by.

    The same message planned twice (several events of one card in a batch each find the
    card's recent transfers) is written once, the first planned: what its row's key would
    make of it anyway. Who gets what by which channel is read once for everyone planned."""
    unique: dict[tuple[NotificationKind, str, str], Planned] = {}
    for each in planned:
        unique.setdefault((each.kind, each.source_id, each.user_id), each)
    if not unique:
        return
    people = _people(
        session,
        {p.user_id for p in unique.values()},
        {p.kind for p in unique.values()},
        channels.push,
    )
    rows: list[tuple[object, ...]] = []
    for p in unique.values():
        person = people.get(p.user_id)
        if person is None:
            continue  # no such account (any more)
        texts = (p.message.title, p.message.text, p.message.html)
        rows.extend(
            (p.kind, p.source_id, p.user_id, channel, p.business_id, p.event_id, *texts)
            for channel in sorted(_channels(person, p.kind, channels))
        )
    _insert(session, rows, now)


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
