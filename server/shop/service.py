"""The shop's rules, apart from HTTP: read a shop form into a gift order, find a card by
the code a customer types or scans. A card bought in the shop is always a gift — for
oneself it is a gift to one's own email — so it arrives by email with its QR code."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.money import Money, MoneyError

from ..accounts.codes import hash_code
from ..billing.subscriptions import standing
from ..directory.models import Business
from ..gifts.models import Gift
from ..gifts.schemas import GiftPurchase
from ..gifts.service import Buyer, GiftOrder
from ..wallet import cards
from ..wallet.models import GiftCard

__all__ = ["Balance", "ShopForm", "card_balance_by_code", "cards_of", "open_shop", "order_of"]

# What each form field is called on the page, for errors in plain words.
_LABELS = {
    "amount_minor": "Amount",
    "payment": "Card number",
    "card_number": "Card number",
    "recipient_email": "Their email",
    "recipient_name": "Their name",
    "message": "Message",
    "from_name": "Your name",
    "email": "Your email",
}


class FormProblem(ValueError):
    """What is wrong with the form, in words for the person filling it in."""


@dataclass(frozen=True, slots=True)
class ShopForm:
    """The shop's form as sent (every field text, as a browser sends it)."""

    amount: str
    email: str
    name: str
    for_whom: str  # "me" or "someone"
    recipient_name: str
    recipient_email: str
    message: str
    deliver_on: str  # yyyy-mm-dd, or empty: now
    card_number: str


def open_shop(session: Session, business_id: str) -> Business | None:
    """The business, if it sells now (not suspended by an operator or for an unpaid
    invoice, not hibernating); else None — its shop is not open."""
    business = session.get(Business, business_id)
    if business is None or not standing(session, business.id).selling:
        return None
    return business


def _delivery(deliver_on: str, now: datetime) -> datetime | None:
    if not deliver_on.strip():
        return None
    try:
        day = date.fromisoformat(deliver_on.strip())
    except ValueError:
        raise FormProblem(
            "Delivery date: give a date such as 2027-01-31, or leave it empty."
        ) from None
    if day < now.date():
        raise FormProblem("Delivery date: that day has passed. Choose today or a later day.")
    if day == now.date():
        return None  # today: now
    return datetime.combine(day, time(9), tzinfo=UTC)


def order_of(business: Business, form: ShopForm, now: datetime) -> tuple[Buyer, GiftOrder]:
    """The buyer and the gift order the form asks for, or `FormProblem` saying what to fix.
    The limits are the API's gift purchase's (`GiftPurchase`)."""
    try:
        amount = Money.parse(form.amount, business.currency)
    except MoneyError:
        raise FormProblem(
            f"Amount: give an amount in {business.currency}, such as 25 or 25.00."
        ) from None
    for_me = form.for_whom != "someone"
    email = form.email.strip()
    fields = {
        "amount_minor": amount.minor,
        "payment": {"card_number": form.card_number.replace(" ", "").replace("-", "")},
        "recipient_email": email if for_me else form.recipient_email.strip(),
        "recipient_name": (form.name.strip() or "you") if for_me else form.recipient_name.strip(),
        "message": "" if for_me else form.message.strip(),
        "from_name": form.name.strip(),
    }
    try:
        GiftPurchase.model_validate({**fields, "recipient_email": email})  # the buyer's
        purchase = GiftPurchase.model_validate(fields)
    except ValidationError as exc:
        raise FormProblem(_words(exc, mine=for_me)) from None
    order = GiftOrder(
        business_id=business.id,
        amount_minor=purchase.amount_minor,
        card_number=purchase.payment.card_number,
        recipient_email=str(purchase.recipient_email),
        recipient_name=purchase.recipient_name,
        message=purchase.message,
        deliver_at=None if for_me else _delivery(form.deliver_on, now),
    )
    return Buyer(email=email, name=purchase.from_name), order


def _words(exc: ValidationError, *, mine: bool) -> str:
    error = exc.errors()[0]
    field = str(error["loc"][0]) if error["loc"] else ""
    label = _LABELS.get(field, field)
    if field == "recipient_email" and mine:
        label = "Your email"
    if field == "amount_minor":
        return "Amount: give an amount above zero and within the card limit."
    return f"{label}: {error['msg'].removeprefix('Value error, ')}."


@dataclass(frozen=True, slots=True)
class Balance:
    business: str
    balance: Money
    expires_at: datetime
    status: str


def _balance(session: Session, card: GiftCard) -> Balance:
    business = session.get_one(Business, card.business_id)
    return Balance(
        business.name, cards.card_balance(session, card), card.expires_at, card.status.value
    )


def cards_of(session: Session, user_id: str) -> list[Balance]:
    """The cards in a customer's account, oldest first (those claimed from gifts too)."""
    owned = session.scalars(
        select(GiftCard).where(GiftCard.owner_id == user_id).order_by(GiftCard.issued_at)
    )
    return [_balance(session, card) for card in owned]


def card_balance_by_code(session: Session, code: str) -> Balance | None:
    """The card a code names: the code from its gift email (`ABCD-EFGH-JKMN`), or its QR
    code's text. None when no card has it."""
    text = code.strip()
    card = session.scalar(select(GiftCard).where(GiftCard.token == text)) if text else None
    if card is None and text:
        gift = session.scalar(select(Gift).where(Gift.code_hash == hash_code(text)))
        card = session.get(GiftCard, gift.card_id) if gift is not None else None
    return None if card is None else _balance(session, card)
