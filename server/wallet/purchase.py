"""Buying a gift card: the one implementation of the money rules a sale follows, used by a
customer buying for themselves (the wallet's route) and by a gift (`server.gifts`).

No HTTP and no "current user" here: the buyer may be an account or, for a shop page, only
an email address (`customer_id` None)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sync.money import Money

from ..billing.subscriptions import require_selling
from ..db import utcnow
from ..directory.models import Business
from ..errors import BusinessLiabilityLimit, BusinessNotFound, DomainError
from ..fraud import service as fraud
from ..fraud.models import FraudEvent
from ..ids import make_id
from ..keys.keyring import Keyring
from ..payments import PaymentGateway, payment_card_key, take_payment
from ..wording import possessive
from . import cards
from .limits import MoneyLimits
from .models import GiftCard, PaymentRefund

__all__ = [
    "CardSale",
    "Paid",
    "Sales",
    "buy_card",
    "give_back",
    "owe_back",
    "owed",
    "selling_business",
]

log = logging.getLogger("tillpoint.payments")


@dataclass(frozen=True, slots=True)
class Sales:
    """What a sale needs of the server: the gateway, the issuer keys and the money limits."""

    gateway: PaymentGateway
    keyring: Keyring
    limits: MoneyLimits


@dataclass(frozen=True, slots=True)
class CardSale:
    """One card sold: how much, paid with which payment card, for whom.

    `payment_key` makes a retry charge once (the caller's idempotency key, scoped to the
    buyer); `owner_id` is whose account the card goes into (None: no one's yet, as a gift
    until it is claimed); `customer_id` and `address` are what the fraud rules count by."""

    amount_minor: int
    card_number: str
    payment_key: str
    owner_id: str | None
    customer_id: str | None
    address: str | None


def selling_business(session: Session, business_id: str) -> Business:
    """The business, if it exists and may sell (its subscription allows it)."""
    business = session.get(Business, business_id)
    if business is None:
        raise BusinessNotFound(f"There is no business {business_id!r}.")
    require_selling(session, business.id)
    return business


def buy_card(session: Session, sales: Sales, business: Business, sale: CardSale) -> GiftCard:
    """Check the limits and the fraud rules, take the payment, issue the card — in the
    caller's transaction. A refusal comes before the charge, so it never charges anyone;
    except when the business's cards, at the limit only with the purchases being paid for
    at the same time, cannot take this one after all: the refusal, stored for retries
    (`idempotency`), owes its payment back (`owe_back`)."""
    amount = Money.of(sale.amount_minor, business.currency)
    payment_card = payment_card_key(sales.gateway, sale.card_number)
    today = datetime.now(UTC).date()
    cards.check_purchase(session, business, amount, payment_card, today, sales.limits)
    fraud.screen(
        session,
        fraud.Activity(
            FraudEvent.PURCHASE,
            business_id=business.id,
            payment_card=payment_card,
            customer_id=sale.customer_id,
            address=sale.address,
            amount_minor=amount.minor,
            currency=amount.currency.code,
        ),
    )
    reference = take_payment(sales.gateway, amount, sale.card_number, sale.payment_key)
    try:
        cards.hold_liability(session, business, amount, sales.limits)
    except BusinessLiabilityLimit as refused:
        owe_back(
            refused, sales.gateway, Paid(reference, amount, sale.payment_key),
            f"{possessive(business.name)} gift cards reached their limit while it was paid",
        )  # fmt: skip
        raise
    return cards.issue_card(session, sales.keyring, business, sale.owner_id, amount, reference)


@dataclass(frozen=True, slots=True)
class Paid:
    """A charge taken: the provider's reference, how much, and the key it was taken with."""

    reference: str
    amount: Money
    payment_key: str


def owe_back(refused: DomainError, gateway: PaymentGateway, paid: Paid, reason: str) -> None:
    """`refused`, found after `paid` was charged, owes the charge back: the debt
    (`PaymentRefund`) is stored with the refusal, or not at all, and refunded once the
    refusal is committed — never before, so no retry can find a refunded charge and sell
    on it, and a refusal that loses to another answer owes nothing."""
    owed = PaymentRefund(
        id=make_id(),
        payment_reference=paid.reference,
        amount_minor=paid.amount.minor,
        currency=paid.amount.currency.code,
        refund_key=f"refused:{paid.payment_key}",
        reason=reason,
    )
    refused.kept.append(owed)
    refused.then.append(functools.partial(give_back, gateway, only=[owed.id]))


def owed(session: Session) -> tuple[int, datetime | None]:
    """How many payments are owed back (`give_back` has not made them yet), and when the
    first of them was written."""
    count, first = session.execute(
        select(func.count(), func.min(PaymentRefund.created_at)).where(
            PaymentRefund.refunded_at.is_(None)
        )
    ).one()
    return int(count), first


def give_back(
    gateway: PaymentGateway, session: Session, *, only: Sequence[str] | None = None
) -> int:
    """Refund the payments owed (`PaymentRefund`; `only` those), each in a transaction of
    its own; how many were given back. Run by the refusal that owes one once it is stored,
    and by the jobs' round for any whose refund failed then. A refund the provider does not
    make now stays owed, for the next round; its key makes every try the same refund."""
    owed = select(PaymentRefund.id).where(PaymentRefund.refunded_at.is_(None))
    if only is not None:
        owed = owed.where(PaymentRefund.id.in_(only))
    ids = list(session.scalars(owed.order_by(PaymentRefund.created_at)))
    session.rollback()
    given = 0
    for refund_id in ids:
        due = session.scalar(
            select(PaymentRefund)
            .where(PaymentRefund.id == refund_id, PaymentRefund.refunded_at.is_(None))
            .with_for_update(skip_locked=True)  # another process is giving it back
        )
        if due is None:
            session.rollback()
            continue
        amount = Money.of(due.amount_minor, due.currency)
        try:
            due.refund_reference = gateway.refund(due.payment_reference, amount, due.refund_key)
        except Exception:  # the provider's failure, whatever it is: owed until the next round
            log.warning(
                "refund %s of %s not made yet; the jobs' round tries again",
                due.id,
                amount.format(),
                exc_info=True,
            )
            session.rollback()
            continue
        due.refunded_at = utcnow()
        session.commit()
        given += 1
    return given
