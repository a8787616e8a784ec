"""What the billing routes ask of billing: a business's subscription, paying and voiding an
invoice, storing exchange rates. The refusals are domain errors (`server.errors`)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import (
    Conflict,
    InvalidRate,
    InvoiceNotPayable,
    InvoiceNotVoidable,
    NoSubscription,
    PaymentDeclined,
)
from ..payments import PaymentGateway
from .models import ExchangeRate, Invoice, Subscription
from .rates import RateError, parse_rate, save_rate
from .run import charge_invoice, keep_card, void
from .subscriptions import base_currency

__all__ = ["pay_invoice", "store_rates", "subscription_of", "void_invoice"]


def subscription_of(session: Session, business_id: str, *, locked: bool = False) -> Subscription:
    """The business's subscription; `locked` for a change (billing changes and the billing
    run take turns). NoSubscription when it has none."""
    query = select(Subscription).where(Subscription.business_id == business_id)
    found = session.scalar(query.with_for_update() if locked else query)
    if found is None:
        raise NoSubscription(
            "This business has no subscription (it was listed before billing began)."
        )
    return found


def pay_invoice(
    session: Session,
    subscription: Subscription,
    invoice: Invoice,
    card_number: str | None,
    at: date,
    gateway: PaymentGateway,
) -> None:
    """Charge an unpaid invoice to `card_number` (kept on file) or to the card on file.
    A declined attempt is recorded (and the vendor told), then PaymentDeclined raised: the
    caller commits it either way, with the answer it gives (`wallet.idempotency`)."""
    _require_unpaid(invoice, InvoiceNotPayable, "paid")
    if card_number is not None:
        keep_card(subscription, gateway, card_number)
    paid = charge_invoice(
        session, subscription, invoice, at, gateway, subscription.payment_card_token
    )
    if not paid:
        raise PaymentDeclined(
            "The card was declined: see the billing notices, and try another card."
        )


def void_invoice(session: Session, subscription: Subscription, invoice: Invoice, at: date) -> None:
    """Cancel an unpaid invoice; a business it held suspended is restored."""
    _require_unpaid(invoice, InvoiceNotVoidable, "voided")
    void(session, subscription, invoice, at)


def store_rates(session: Session, rates: list[tuple[str, str, date]]) -> list[ExchangeRate]:
    """Store (or correct) rates given as (currency, rate as text, valid from) against the
    billing currency: all of them, or, refused with InvalidRate, none."""
    base = base_currency(session)
    try:
        return [
            save_rate(session, code.upper(), base, parse_rate(rate), valid_from)
            for code, rate, valid_from in rates
        ]
    except RateError as exc:
        session.rollback()
        raise InvalidRate(str(exc)) from None


def _require_unpaid(invoice: Invoice, refusal: type[Conflict], done: str) -> None:
    if not invoice.status.unpaid:
        raise refusal(
            f"This invoice is {invoice.status}: only open or uncollectible ones are {done}."
        )
