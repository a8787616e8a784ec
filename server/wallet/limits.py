"""Money limits on gift cards, modelled on Square's: the most a card may hold, the most one
payment card may load in a day, and the most a business's cards may hold together. Each is
a setting; each refusal is a domain error saying what the limit is and what to do.

The daily load is a counter per payment card, currency and UTC day (`PaymentCardLoad`):
each charge counts on it (`reserve_payment_card_load`), and what a refund gives back to the
payment card stops counting (`release_payment_card_load`) — a whole refund frees the whole
charge, a partial one its part. A sale refused after its charge rolls its count back with
its transaction, so the charge its refusal owes back (`purchase.owe_back`) never counted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from sqlalchemy import case, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sync.money import Money

from ..errors import BusinessLiabilityLimit, CardBalanceLimit, PaymentCardDailyLimit
from ..settings import Settings
from . import ledger
from .models import PaymentCardLoad

__all__ = [
    "MoneyLimits",
    "PayingFor",
    "check_business_liability",
    "check_card_balance",
    "release_payment_card_load",
    "reserve_payment_card_load",
]


# What a payment card's load pays for, as the refusal tells the payer to do less of it.
PayingFor = Literal["Load", "Donate"]


@dataclass(frozen=True)
class MoneyLimits:
    max_card_balance_minor: int
    max_daily_load_per_payment_card_minor: int
    max_business_card_liability_minor: int

    @classmethod
    def from_settings(cls, settings: Settings) -> MoneyLimits:
        return cls(
            max_card_balance_minor=settings.max_card_balance_minor,
            max_daily_load_per_payment_card_minor=settings.max_daily_load_per_payment_card_minor,
            max_business_card_liability_minor=settings.max_business_card_liability_minor,
        )


def check_card_balance(balance_after: int, added: Money, limits: MoneyLimits) -> None:
    """Refuse a card holding more than the limit once `added` is on it (its balance read back
    under its row lock, so the caller rolls the load back)."""
    limit = limits.max_card_balance_minor
    if balance_after > limit:
        code = added.currency.code
        room = limit - (balance_after - added.minor)
        raise CardBalanceLimit(
            f"A gift card may hold at most {Money.of(limit, code).format()}; this would bring "
            f"it to {Money.of(balance_after, code).format()}. Load at most "
            f"{Money.of(max(room, 0), code).format()} onto it, or use another card.",
            limit_minor=limit,
            available_minor=room,
        )


def check_business_liability(
    session: Session,
    business_id: str,
    currency: str,
    adding: int,
    limits: MoneyLimits,
    *,
    locked: bool = True,
) -> None:
    """Refuse adding `adding` to the business's cards if together they would hold more than
    the limit. The caller holds the business's clearing row lock (purchases, refunds), so
    two cannot both pass on the same figure; `locked` False: a first look without it (the
    figure is read, not folded: `ledger.card_liability`)."""
    limit = limits.max_business_card_liability_minor
    held = ledger.card_liability(session, business_id, currency, fold=locked)
    if held + adding > limit:
        most = Money.of(limit, currency).format()
        raise BusinessLiabilityLimit(
            f"This business's gift cards may hold at most {most} together, and they hold "
            f"{Money.of(held, currency).format()} now: load at most "
            f"{Money.of(max(limit - held, 0), currency).format()}, or try again once more "
            "has been spent. The business can ask the platform to raise the limit.",
            limit_minor=limit,
            available_minor=limit - held,
        )


def reserve_payment_card_load(
    session: Session,
    payment_card: str,
    amount: Money,
    today: date,
    limits: MoneyLimits,
    *,
    verb: PayingFor = "Load",
) -> None:
    """Count `amount` against the payment card's load today (`payment_card`: its
    `payments.payment_card_key`), or refuse it if that passes the daily limit, telling the
    payer to `verb` less ("Load" onto a gift card, "Donate" to a club). The counter's row
    stays locked until the caller's transaction ends, so a second purchase with the same card
    waits and then sees this one. A counter that another purchase commits between the count
    and the look is counted on, not taken for a full one."""
    limit = limits.max_daily_load_per_payment_card_minor
    key = (
        PaymentCardLoad.payment_card == payment_card,
        PaymentCardLoad.currency == amount.currency.code,
        PaymentCardLoad.day == today,
    )
    so_far = None
    for _ in range(3):
        loaded = session.execute(
            update(PaymentCardLoad)
            .where(*key, PaymentCardLoad.loaded_minor + amount.minor <= limit)
            .values(loaded_minor=PaymentCardLoad.loaded_minor + amount.minor)
            .returning(PaymentCardLoad.loaded_minor)
            .execution_options(synchronize_session=False)
        ).scalar()
        if loaded is not None:
            return
        so_far = session.scalar(select(PaymentCardLoad.loaded_minor).where(*key))
        if so_far is not None and int(so_far) + amount.minor > limit:
            _refuse_load(int(so_far), amount, limit, verb)
        if so_far is not None:  # another purchase made the counter while this one looked
            continue
        try:  # the card's first load today: make its counter, then count
            with session.begin_nested():
                session.add(
                    PaymentCardLoad(
                        payment_card=payment_card,
                        currency=amount.currency.code,
                        day=today,
                        loaded_minor=0,
                    )
                )
        except IntegrityError:  # another purchase with this card made it first
            pass
    _refuse_load(int(so_far or 0), amount, limit, verb)  # the counter kept changing under us


def release_payment_card_load(
    session: Session, payment_card: str, refunded: Money, day: date
) -> None:
    """Stop counting `refunded` of a charge that counted on `day` against the payment card's
    daily load: given back to the card, it was not paid after all. One conditional update
    of the day's counter (never below zero), whose row lock makes a purchase with the card
    at the same moment wait and then see the room; a day with no counter has nothing to
    free."""
    session.execute(
        update(PaymentCardLoad)
        .where(
            PaymentCardLoad.payment_card == payment_card,
            PaymentCardLoad.currency == refunded.currency.code,
            PaymentCardLoad.day == day,
        )
        .values(
            loaded_minor=case(
                (
                    PaymentCardLoad.loaded_minor > refunded.minor,
                    PaymentCardLoad.loaded_minor - refunded.minor,
                ),
                else_=0,
            )
        )
        .execution_options(synchronize_session=False)
    )


def _refuse_load(so_far: int, amount: Money, limit: int, verb: PayingFor) -> None:
    code = amount.currency.code
    most = Money.of(limit, code).format()
    raise PaymentCardDailyLimit(
        f"One payment card may pay at most {most} a day to load gift cards and donate to "
        f"clubs, together; this card has paid {Money.of(so_far, code).format()} today. "
        f"{verb} at most {Money.of(max(limit - so_far, 0), code).format()}, use another "
        "payment card, or try again tomorrow (days end at midnight UTC).",
        limit_minor=limit,
        available_minor=limit - so_far,
    )
