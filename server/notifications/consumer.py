"""The consumer: reads each business's event log after its cursor and writes the outbox.

Events say only which entity changed (docs/event-log.md); the consumer looks up the rest. A
card's event (a purchase makes `created`, a redemption `balance_changed`) is matched with the
card's transfers made from `RECENT` before the event on: a transfer's kind tells a purchase
from a redemption, and its operation id is what the notification is about. The outbox holds
one row per (kind, operation, person, channel), written with ON CONFLICT DO NOTHING: reading
an event again, or another event of the same card that sees the same transfer, writes
nothing new, and a card changed twice between two reads still has both told.

A batch's card events are told together, in a few statements whatever their number: the
cards (balance, business, gift) in one query, their transfers in another — those whose
receipt is in the outbox already marked as told and not planned again, and read last, so
a busy card's backlog moves on when more than `RECENT_TRANSFERS` an event are recent —
and everyone's channels in a third (`outbox.write`).

Two consumers at once are safe: each business's cursor row is locked while its events are
read and its notifications written (SQLite's writers take turns anyway); the second then
starts from where the first left it.

Stated limits: a receipt's "it now holds" is the balance when the consumer reads the event
(a moment after the redemption, normally); and an event read more than `RECENT` after a
transfer that no earlier event led to (none should exist: every balance move records one)
would not find it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, aliased

from sync.money import Money

from ..billing.models import BillingNotice
from ..deals.models import Deal
from ..deals.service import nearest_offering_km
from ..devices.models import Incident
from ..directory.models import Branch, Business
from ..events import Event, EventEntity, EventKind
from ..folding import fold
from ..gifts.addresses import same_address
from ..gifts.models import Gift
from ..outbox import read_new_events
from ..preferences.models import FavouriteBusiness, Tastes
from ..wallet.models import GiftCard, LedgerAccount, Purpose, Transfer
from ..webhooks.models import EndpointStatus, WebhookEndpoint
from . import templates
from .models import Notification, NotificationCursor, NotificationKind
from .outbox import Channels, Planned, write

__all__ = ["REDEMPTION_KINDS", "ConsumerOptions", "consume"]

PURCHASE_KINDS = frozenset({"purchase"})
REDEMPTION_KINDS = frozenset({"redemption", "offline-redemption", "hold-posted"})
RECENT = timedelta(minutes=1)  # a card's transfers this much before its event may be its cause
RECENT_TRANSFERS = 50  # transfers read a round, per card event in its batch


@dataclass(frozen=True, slots=True)
class ConsumerOptions:
    channels: Channels
    low_balance_minor: int
    batch: int = 100
    deal_alert_radius_km: float = 10


def consume(sessions: Callable[[], Session], options: ConsumerOptions, now: datetime) -> int:
    """Read every business's new events once (up to a batch each) and write their
    notifications, due at `now`; the number of events read. A business first seen starts
    at its beginning (the migration started the ones that existed before notifications at
    their head, so history is not sent)."""

    def planned(session: Session, events: Sequence[Event]) -> None:
        cards = [e for e in events if e.entity == EventEntity.CARD and e.kind != EventKind.REMOVED]
        others = (e for e in events if e.entity != EventEntity.CARD)
        found = _cards(session, cards, options)
        found += [p for event in others for p in _plan(session, event, options)]
        write(session, found, options.channels, now)

    return read_new_events(sessions, NotificationCursor, options.batch, planned)


def _about(
    event: Event, kind: NotificationKind, source_id: str, user_id: str, message: templates.Message
) -> Planned:
    return Planned(kind, source_id, user_id, event.business_id, event.id, message)


def _plan(session: Session, event: Event, options: ConsumerOptions) -> list[Planned]:
    """What an event other than a card's tells (those are told a batch at once: `_cards`)."""
    if event.entity == EventEntity.INCIDENT and event.kind == EventKind.CREATED:
        return _incident(session, event)
    if event.entity == EventEntity.DEAL and event.kind == EventKind.CREATED:
        return _new_deal(session, event, options)
    if event.entity == EventEntity.WEBHOOK_ENDPOINT:
        return _webhook_endpoint(session, event)
    if event.entity == EventEntity.BILLING_NOTICE and event.kind == EventKind.CREATED:
        return _billing_notice(session, event)
    return []


@dataclass(frozen=True, slots=True)
class _Gift:
    id: str
    buyer_id: str | None
    recipient_id: str | None
    recipient_name: str
    deliver_at: datetime
    card_id: str
    for_its_buyer: bool  # to the buyer's own address: the card's email is the receipt


@dataclass(frozen=True, slots=True)
class _Card:
    id: str
    owner_id: str | None
    currency: str
    balance_minor: int
    business: str  # its name
    gift: _Gift | None
    event: Event  # its first event of the batch: what its notifications are about
    since: datetime | None  # its transfers from then on may be what its events are about


@dataclass(frozen=True, slots=True)
class _Transfer:
    id: int
    card_id: str
    operation_id: str
    kind: str
    amount_minor: int
    created_at: datetime
    by_a_club: bool  # paid from a club's fund
    told: bool  # its receipt is in the outbox already


def _cards(session: Session, events: Sequence[Event], options: ConsumerOptions) -> list[Planned]:
    """What the batch's cards' recent transfers tell their holders: each transfer from
    `RECENT` before the card's first event of the batch on, less those whose receipt is
    in the outbox already. Two queries for the whole batch: the cards (with balance,
    business and gift), then their transfers."""
    if not events:
        return []
    cards = _cards_of(session, events)
    transfers, complete = _transfers_of(session, cards, len(events))
    planned: list[Planned] = []
    for card in cards.values():
        planned += _card(card, transfers.get(card.id, []), complete, options)
    return planned


def _cards_of(session: Session, events: Sequence[Event]) -> dict[str, _Card]:
    first: dict[str, Event] = {}
    since: dict[str, datetime | None] = {}
    for event in events:
        first.setdefault(event.entity_id, event)
        at = None if event.occurred_at is None else event.occurred_at - RECENT
        if event.entity_id in since:  # the earliest; None (no time kept): all of them
            known = since[event.entity_id]
            at = None if at is None or known is None else min(at, known)
        since[event.entity_id] = at
    found = session.execute(
        select(
            GiftCard.id,
            GiftCard.owner_id,
            GiftCard.currency,
            LedgerAccount.balance_minor,
            Business.name,
            Gift.id,
            Gift.buyer_id,
            Gift.recipient_id,
            Gift.recipient_name,
            Gift.deliver_at,
            Gift.recipient_email,
            Gift.buyer_email,
        )
        .join(LedgerAccount, LedgerAccount.id == GiftCard.account_id)
        .join(Business, Business.id == GiftCard.business_id)
        .outerjoin(Gift, Gift.card_id == GiftCard.id)
        .where(GiftCard.id.in_(first))
    )
    cards: dict[str, _Card] = {}
    for card_id, owner_id, currency, balance, business, gift_id, *gift in found:
        buyer_id, recipient_id, recipient_name, deliver_at, recipient_email, buyer_email = gift
        given = (
            None
            if gift_id is None
            else _Gift(
                gift_id,
                buyer_id,
                recipient_id,
                recipient_name,
                deliver_at,
                card_id,
                same_address(recipient_email, buyer_email),
            )
        )
        event = first[card_id]
        cards[card_id] = _Card(
            card_id, owner_id, currency, balance, business, given, event, since[card_id]
        )
    return cards


def _transfers_of(
    session: Session, cards: dict[str, _Card], events: int
) -> tuple[dict[str, list[_Transfer]], bool]:
    """The cards' transfers their events may be about, each card's in order, and whether
    that is all of them (else only the first `RECENT_TRANSFERS` an event, those not yet
    told first, so a busy card's backlog moves on)."""
    if not cards:
        return {}, True
    starts = [card.since for card in cards.values()]
    paid_from = aliased(LedgerAccount)
    told = (
        exists()
        .where(
            Notification.kind.in_([NotificationKind.CARD_BOUGHT, NotificationKind.CARD_REDEEMED]),
            Notification.source_id == Transfer.operation_id,
        )
        .label("told")
    )
    query = (
        select(
            Transfer.id,
            Transfer.card_id,
            Transfer.operation_id,
            Transfer.kind,
            Transfer.amount_minor,
            Transfer.created_at,
            paid_from.purpose == Purpose.CLUB,
            told,
        )
        .join(paid_from, paid_from.id == Transfer.debit_account_id)
        .where(Transfer.card_id.in_(cards))
        .order_by(told, Transfer.id)
        .limit(RECENT_TRANSFERS * events)
    )
    if all(start is not None for start in starts):
        query = query.where(Transfer.created_at >= min(s for s in starts if s is not None))
    rows = session.execute(query).all()
    found: dict[str, list[_Transfer]] = {}
    for id_, card_id, operation_id, kind, amount, at, by_a_club, told_ in sorted(rows):
        assert card_id is not None  # one of `cards`
        transfer = _Transfer(
            id_, card_id, operation_id, kind, amount, at, bool(by_a_club), bool(told_)
        )
        since = cards[transfer.card_id].since
        if since is None or transfer.created_at >= since:
            found.setdefault(transfer.card_id, []).append(transfer)
    return found, len(rows) < RECENT_TRANSFERS * events


def _card(
    card: _Card, transfers: list[_Transfer], complete: bool, options: ConsumerOptions
) -> list[Planned]:
    """What the card's transfers not yet told tell its holder; a claimed gift's claim."""
    gift = card.gift
    # A purchase's receipt goes to whoever paid: a gift's buyer, not its card's holder. A
    # card bought for one's own address has its receipt in its own email (`gift_mail`):
    # one receipt, never two.
    buyer = gift.buyer_id if gift is not None else card.owner_id
    if gift is not None and gift.for_its_buyer:
        buyer = None
    if card.owner_id is None and buyer is None:
        return []
    event = card.event
    balance = Money.of(card.balance_minor, card.currency)
    planned: list[Planned] = []
    # The balance now is what the card's last transfer left: only that one, if a
    # redemption, can have left it low (known only when all were read).
    last = transfers[-1] if transfers and complete else None
    for transfer in transfers:
        if transfer.told:
            continue
        amount = Money.of(transfer.amount_minor, card.currency)
        source = transfer.operation_id
        if transfer.kind in PURCHASE_KINDS and buyer is not None and not transfer.by_a_club:
            message = (
                templates.card_bought(card.business, amount, card.id)
                if gift is None
                else templates.gift_bought(
                    card.business, amount, gift.recipient_name, gift.deliver_at, gift.id
                )
            )
            planned.append(_about(event, NotificationKind.CARD_BOUGHT, source, buyer, message))
        elif transfer.kind in REDEMPTION_KINDS and card.owner_id is not None:
            message = templates.card_redeemed(card.business, amount, balance, card.id)
            planned.append(
                _about(event, NotificationKind.CARD_REDEEMED, source, card.owner_id, message)
            )
            if transfer is last and balance.minor < options.low_balance_minor:
                message = templates.low_balance(card.business, balance, card.id)
                planned.append(
                    _about(event, NotificationKind.LOW_BALANCE, source, card.owner_id, message)
                )
    if gift is not None and gift.recipient_id is not None:
        planned += _gift_claimed(event, gift, card.business, balance)
    return planned


def _gift_claimed(event: Event, gift: _Gift, business: str, balance: Money) -> list[Planned]:
    """A claimed gift, told to its buyer and to whom claimed it (once each: the gift is the
    source)."""
    assert gift.recipient_id is not None
    told = [
        _about(
            event,
            NotificationKind.GIFT_CLAIMED,
            gift.id,
            gift.recipient_id,
            templates.gift_claimed_into_account(business, balance, gift.card_id),
        )
    ]
    if gift.buyer_id is not None and gift.buyer_id != gift.recipient_id:
        message = templates.gift_claimed_by_recipient(business, balance, gift.recipient_name)
        told.append(_about(event, NotificationKind.GIFT_CLAIMED, gift.id, gift.buyer_id, message))
    return told


def _incident(session: Session, event: Event) -> list[Planned]:
    incident = session.get(Incident, event.entity_id)
    business = session.get(Business, event.business_id)
    if incident is None or business is None or business.owner_id is None:
        return []
    message = templates.incident_opened(business.name, incident.kind.value, incident.detail)
    return [
        _about(event, NotificationKind.INCIDENT_OPENED, incident.id, business.owner_id, message)
    ]


def _billing_notice(session: Session, event: Event) -> list[Planned]:
    """A billing notice, to the business's owner: once (the notice is the source)."""
    notice = session.get(BillingNotice, int(event.entity_id))
    business = session.get(Business, event.business_id)
    if notice is None or business is None or business.owner_id is None:
        return []
    message = templates.billing_notice(business.name, notice.kind, notice.message)
    source = str(notice.id)
    return [_about(event, NotificationKind.BILLING_NOTICE, source, business.owner_id, message)]


def _new_deal(session: Session, event: Event, options: ConsumerOptions) -> list[Planned]:
    """A new deal, to those who made its business a favourite, and to those who like its
    category and live within `deal_alert_radius_km` of a branch offering it."""
    deal = session.get(Deal, event.entity_id)
    business = session.get(Business, event.business_id)
    if deal is None or business is None or deal.ended:
        return []
    price = Money.of(deal.deal_price_minor, deal.currency)
    why: dict[str, str] = {}
    for user_id in session.scalars(
        select(FavouriteBusiness.user_id).where(FavouriteBusiness.business_id == business.id)
    ):
        why[user_id] = f"You follow {business.name}."
    branches = session.scalars(select(Branch).where(Branch.business_id == business.id)).all()
    category = fold(business.category)
    for liked in session.scalars(select(Tastes).where(Tastes.home_latitude.is_not(None))):
        lat, lon = liked.home_latitude, liked.home_longitude
        if lat is None or lon is None or liked.user_id in why:
            continue
        if category not in {fold(c) for c in liked.categories}:
            continue
        away = nearest_offering_km(deal, branches, lat, lon)
        if away is not None and away <= options.deal_alert_radius_km:
            why[liked.user_id] = f"It is {away:.1f} km from home, in {business.category}."
    return [
        _about(
            event,
            NotificationKind.NEW_DEAL,
            deal.id,
            user_id,
            templates.new_deal(business.name, deal.title, price, reason),
        )
        for user_id, reason in sorted(why.items())
    ]


def _webhook_endpoint(session: Session, event: Event) -> list[Planned]:
    """An endpoint the server disabled: about the delivery that made it (each disabling
    has its own), unless it is enabled again by the time the event is read."""
    endpoint = session.get(WebhookEndpoint, event.entity_id)
    business = session.get(Business, event.business_id)
    if (
        endpoint is None
        or endpoint.status is not EndpointStatus.DISABLED
        or endpoint.disabled_by_delivery is None
        or business is None
        or business.owner_id is None
    ):
        return []
    message = templates.webhook_disabled(business.name, endpoint.url, endpoint.disabled_reason)
    return [
        _about(
            event,
            NotificationKind.WEBHOOK_DISABLED,
            endpoint.disabled_by_delivery,
            business.owner_id,
            message,
        )
    ]
