"""The consumer: reads each business's event log after its cursor and writes the outbox.

Events say only which entity changed (docs/event-log.md); the consumer looks up the rest. A
card's event (a purchase makes `created`, a redemption `balance_changed`) is matched with the
card's transfers made from `RECENT` before the event on: a transfer's kind tells a purchase
from a redemption, and its operation id is what the notification is about. The outbox holds
one row per (kind, operation, person, channel), written with ON CONFLICT DO NOTHING: reading
an event again, or another event of the same card that sees the same transfer, writes
nothing new, and a card changed twice between two reads still has both told.

Two consumers at once are safe: each business's cursor row is locked while its events are
read and its notifications written (SQLite's writers take turns anyway); the second then
starts from where the first left it.

Stated limits: a receipt's "it now holds" is the balance when the consumer reads the event
(a moment after the redemption, normally); and an event read more than `RECENT` after a
transfer that no earlier event led to (none should exist: every balance move records one)
would not find it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from sync.money import Money

from ..accounts.models import User
from ..devices.models import Incident
from ..directory.models import Business
from ..events import Event, EventCounter, EventEntity, EventKind, events_after
from ..wallet.models import GiftCard, Transfer
from . import templates
from .models import Notification, NotificationCursor, NotificationKind
from .outbox import channels_for

__all__ = ["REDEMPTION_KINDS", "ConsumerOptions", "consume"]

PURCHASE_KINDS = frozenset({"purchase"})
REDEMPTION_KINDS = frozenset({"redemption", "offline-redemption", "hold-posted"})
RECENT = timedelta(minutes=1)  # a card's transfers this much before its event may be its cause
RECENT_TRANSFERS = 50


@dataclass(frozen=True, slots=True)
class ConsumerOptions:
    email: bool  # an SMTP server is set
    push: bool  # a push transport is set
    low_balance_minor: int
    batch: int = 100


@dataclass(frozen=True, slots=True)
class _Planned:
    kind: NotificationKind
    source_id: str
    user_id: str
    message: templates.Message


_INSERTS: dict[str, Callable[..., Any]] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def consume(sessions: Callable[[], Session], options: ConsumerOptions, now: datetime) -> int:
    """Read every business's new events once (up to a batch each) and write their
    notifications, due at `now`; the number of events read."""
    with sessions() as session:
        behind = (
            session.execute(
                select(EventCounter.business_id)
                .outerjoin(
                    NotificationCursor, NotificationCursor.business_id == EventCounter.business_id
                )
                .where(EventCounter.position > func.coalesce(NotificationCursor.position, 0))
            )
            .scalars()
            .all()
        )
    read = 0
    for business_id in behind:
        with sessions() as session:
            read += _consume_business(session, business_id, options, now)
            session.commit()
    return read


def _consume_business(
    session: Session, business_id: str, options: ConsumerOptions, now: datetime
) -> int:
    upsert = _INSERTS[session.get_bind().dialect.name]
    # A business first seen starts at its beginning (the migration started the ones that
    # existed before notifications at their head, so history is not sent).
    session.execute(
        upsert(NotificationCursor)
        .values(business_id=business_id, position=0)
        .on_conflict_do_nothing(index_elements=[NotificationCursor.business_id])
    )
    cursor = session.scalars(
        select(NotificationCursor)
        .where(NotificationCursor.business_id == business_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    events = events_after(session, business_id, cursor.position, options.batch)
    rows: list[dict[str, object]] = []
    for event in events:
        for planned in _plan(session, event, options):
            rows.extend(_rows(session, event, planned, options, now))
    if rows:
        session.execute(
            upsert(Notification)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["kind", "source_id", "user_id", "channel"])
        )
    if events:
        cursor.position = events[-1].position
    return len(events)


def _rows(
    session: Session, event: Event, planned: _Planned, options: ConsumerOptions, now: datetime
) -> Iterable[dict[str, object]]:
    user = session.get_one(User, planned.user_id)
    channels = channels_for(session, user, planned.kind, email=options.email, push=options.push)
    for channel in sorted(channels):
        yield {
            "kind": planned.kind,
            "source_id": planned.source_id,
            "user_id": planned.user_id,
            "channel": channel,
            "business_id": event.business_id,
            "event_id": event.id,
            "title": planned.message.title,
            "body_text": planned.message.text,
            "body_html": planned.message.html,
            "next_attempt_at": now,
            "created_at": now,
        }


def _plan(session: Session, event: Event, options: ConsumerOptions) -> list[_Planned]:
    if event.entity == EventEntity.CARD and event.kind != EventKind.REMOVED:
        return _card(session, event, options)
    if event.entity == EventEntity.INCIDENT and event.kind == EventKind.CREATED:
        return _incident(session, event)
    return []


def _card(session: Session, event: Event, options: ConsumerOptions) -> list[_Planned]:
    card = session.get(GiftCard, event.entity_id)
    if card is None or card.owner_id is None:
        return []
    query = select(Transfer).where(Transfer.card_id == card.id)
    if event.occurred_at is not None:
        query = query.where(Transfer.created_at >= event.occurred_at - RECENT)
    transfers = session.scalars(query.order_by(Transfer.id).limit(RECENT_TRANSFERS)).all()
    business = session.get_one(Business, card.business_id)
    balance = Money.of(card.account.balance_minor, card.currency)
    planned: list[_Planned] = []
    # The balance now is what the card's last transfer left: only that one, if a
    # redemption, can have left it low.
    last = transfers[-1] if transfers and len(transfers) < RECENT_TRANSFERS else None
    for transfer in transfers:
        amount = Money.of(transfer.amount_minor, card.currency)
        source = transfer.operation_id
        if transfer.kind in PURCHASE_KINDS:
            message = templates.card_bought(business.name, amount, card.id)
            planned.append(_Planned(NotificationKind.CARD_BOUGHT, source, card.owner_id, message))
        elif transfer.kind in REDEMPTION_KINDS:
            message = templates.card_redeemed(business.name, amount, balance, card.id)
            planned.append(_Planned(NotificationKind.CARD_REDEEMED, source, card.owner_id, message))
            if transfer is last and balance.minor < options.low_balance_minor:
                message = templates.low_balance(business.name, balance, card.id)
                planned.append(
                    _Planned(NotificationKind.LOW_BALANCE, source, card.owner_id, message)
                )
    return planned


def _incident(session: Session, event: Event) -> list[_Planned]:
    incident = session.get(Incident, event.entity_id)
    business = session.get(Business, event.business_id)
    if incident is None or business is None or business.owner_id is None:
        return []
    message = templates.incident_opened(business.name, incident.kind.value, incident.detail)
    return [_Planned(NotificationKind.INCIDENT_OPENED, incident.id, business.owner_id, message)]
