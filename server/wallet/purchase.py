"""Buying a gift card: the one implementation of the money rules a sale follows, used by a
customer buying for themselves (the wallet's route) and by a gift (`server.gifts`).

No HTTP and no "current user" here: the buyer may be an account or, for a shop page, only
an email address (`customer_id` None)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from sync.money import Money

from ..billing.subscriptions import require_selling
from ..directory.models import Business
from ..errors import BusinessLiabilityLimit, BusinessNotFound
from ..fraud import service as fraud
from ..fraud.models import FraudEvent
from ..keys.keyring import Keyring
from ..payments import PaymentGateway, payment_card_key, take_payment
from . import cards
from .limits import MoneyLimits
from .models import GiftCard

__all__ = ["CardSale", "Sales", "buy_card", "selling_business"]


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
    at the same time, cannot take this one after all: its payment is refunded, and the
    refusal stored for retries (`idempotency`) answers them without a charge."""
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
    except BusinessLiabilityLimit:
        sales.gateway.refund(reference, amount, f"refused:{sale.payment_key}")
        raise
    return cards.issue_card(session, sales.keyring, business, sale.owner_id, amount, reference)
