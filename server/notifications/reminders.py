"""Reminders from the clock, written to the outbox like any notification.

- A gift card with money on it, 30, 7 and 1 days before it expires.
- An unused voucher, 7 and 1 days before it expires.
- A deal someone saved, within a day of its end (while it is still on sale).

Each round finds what is due at `now`. The reminder's day is part of its source (`<card>/7d`),
and the outbox keeps one row per (kind, source, person, channel): a round that finds it
again, or two workers finding it at once, writes nothing more. A reminder whose day passed
while no worker ran is sent late — unless a nearer one is due by then, which is sent
instead: nobody is told "30 days" with a week left.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from sync.money import Money
from sync.wire import CardStatus, VoucherStatus

from ..deals.models import Deal, Voucher
from ..directory.models import Business
from ..preferences.models import SavedDeal
from ..wallet.models import GiftCard, LedgerAccount
from . import templates
from .models import Notification, NotificationKind
from .outbox import FROM_THE_CLOCK, Channels, Planned, write

__all__ = ["CARD_DAYS", "SAVED_DEAL_NOTICE", "VOUCHER_DAYS", "remind"]

CARD_DAYS = (30, 7, 1)
VOUCHER_DAYS = (7, 1)
SAVED_DEAL_NOTICE = timedelta(days=1)


def _step(left: timedelta, days: Sequence[int]) -> int | None:
    """The reminder due with `left` to go: the nearest day not yet passed."""
    return next((d for d in sorted(days) if left <= timedelta(days=d)), None)


def _cards(session: Session, now: datetime) -> Iterable[Planned]:
    found = session.execute(
        select(GiftCard, LedgerAccount.balance_minor, Business.name)
        .join(LedgerAccount, LedgerAccount.id == GiftCard.account_id)
        .join(Business, Business.id == GiftCard.business_id)
        .where(
            GiftCard.owner_id.is_not(None),
            GiftCard.status == CardStatus.ACTIVE,
            GiftCard.expires_at > now,
            GiftCard.expires_at <= now + timedelta(days=max(CARD_DAYS)),
            LedgerAccount.balance_minor > 0,
        )
    )
    for card, balance, business in found.all():
        days = _step(card.expires_at - now, CARD_DAYS)
        if days is None or card.owner_id is None:
            continue
        balance_left = Money.of(balance, card.currency)
        message = templates.card_expiring(business, balance_left, card.id, days, card.expires_at)
        yield Planned(
            NotificationKind.CARD_EXPIRING,
            f"{card.id}/{days}d",
            card.owner_id,
            card.business_id,
            FROM_THE_CLOCK,
            message,
        )


def _vouchers(session: Session, now: datetime) -> Iterable[Planned]:
    found = session.execute(
        select(Voucher, Deal.title, Business.name)
        .join(Deal, Deal.id == Voucher.deal_id)
        .join(Business, Business.id == Voucher.business_id)
        .where(
            Voucher.status == VoucherStatus.ISSUED,
            Voucher.expires_at > now,
            Voucher.expires_at <= now + timedelta(days=max(VOUCHER_DAYS)),
        )
    )
    for voucher, title, business in found.all():
        days = _step(voucher.expires_at - now, VOUCHER_DAYS)
        if days is None or voucher.owner_id is None:  # a club holds it
            continue
        message = templates.voucher_expiring(business, title, voucher.id, days, voucher.expires_at)
        yield Planned(
            NotificationKind.VOUCHER_EXPIRING,
            f"{voucher.id}/{days}d",
            voucher.owner_id,
            voucher.business_id,
            FROM_THE_CLOCK,
            message,
        )


def _saved_deals(session: Session, now: datetime) -> Iterable[Planned]:
    found = session.execute(
        select(SavedDeal.user_id, Deal, Business.name)
        .join(Deal, Deal.id == SavedDeal.deal_id)
        .join(Business, Business.id == Deal.business_id)
        .where(
            Deal.ended.is_(False),
            Deal.starts_at <= now,
            Deal.ends_at > now,
            Deal.ends_at <= now + SAVED_DEAL_NOTICE,
            or_(Deal.quantity_limit.is_(None), Deal.sold < Deal.quantity_limit),
        )
    )
    for user_id, deal, business in found.all():
        message = templates.saved_deal_ending(business, deal.title, deal.ends_at)
        yield Planned(
            NotificationKind.SAVED_DEAL_ENDING,
            deal.id,
            user_id,
            deal.business_id,
            FROM_THE_CLOCK,
            message,
        )


def _new(session: Session, planned: list[Planned]) -> list[Planned]:
    """Those not in the outbox already (a cheap filter: the outbox's key is the guarantee)."""
    if not planned:
        return []
    found = session.execute(
        select(Notification.kind, Notification.source_id, Notification.user_id).where(
            Notification.source_id.in_({p.source_id for p in planned})
        )
    )
    sent = {(kind, source, user) for kind, source, user in found}
    return [p for p in planned if (p.kind, p.source_id, p.user_id) not in sent]


def remind(session: Session, channels: Channels, now: datetime) -> int:
    """Put every reminder due at `now` in the outbox; how many were new."""
    planned = _new(
        session, [*_cards(session, now), *_vouchers(session, now), *_saved_deals(session, now)]
    )
    write(session, planned, channels, now)
    return len(planned)
