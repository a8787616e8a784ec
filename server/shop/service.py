"""The shop's rules, apart from HTTP: read a shop form into a gift order, find a card by
the code a customer types or scans. A card bought in the shop is always a gift — for
oneself it is a gift to one's own email — so it arrives by email with its QR code."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.money import Money, MoneyError

from ..accounts.codes import hash_code
from ..billing.subscriptions import standing
from ..directory.models import Business
from ..errors import PROBLEM_BASE, CardBalanceLimit
from ..gifts.models import Gift
from ..gifts.schemas import GiftPurchase
from ..gifts.service import Buyer, GiftOrder
from ..wallet import cards
from ..wallet.models import GiftCard
from ..web.forms import field_problem, lines

__all__ = [
    "ALREADY_SENT",
    "FIELDS",
    "MAX_CODE",
    "Balance",
    "FormProblem",
    "ShopField",
    "ShopForm",
    "card_balance_by_code",
    "cards_of",
    "code_problem",
    "open_shop",
    "order_of",
    "refusal_words",
]

MAX_CODE = 300  # a gift email's code, or a card's QR text (at most 240)
ALREADY_SENT = "This form was already sent: open the shop page again to buy another card."


@dataclass(frozen=True, slots=True)
class ShopField:
    """A text field of the shop's form: its label on the page, and the most it takes (the
    API's gift purchase's limits, `GiftPurchase`; the page's `maxlength`)."""

    label: str
    most: int
    multiline: bool = False


FIELDS = {
    "email": ShopField("Your email", 254),
    "name": ShopField("Your name", 100),
    "recipient_name": ShopField("Their name", 100),
    "recipient_email": ShopField("Their email", 254),
    "message": ShopField("Your message", 500, multiline=True),
    "card_number": ShopField("Payment card number", 30),
}
_MINE = ("email", "name", "card_number")  # the fields a card for oneself reads

# What each of the API's fields is called on the page, for errors in plain words.
_LABELS = {
    "amount_minor": "Amount",
    "payment": "Payment card number",
    "recipient_email": "Their email",
    "recipient_name": "Their name",
    "message": "Your message",
    "from_name": "Your name",
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


def _check_text(form: ShopForm, *, for_me: bool) -> None:
    """Refuse, in words naming the field, text the API would refuse: a control character
    (often pasted in: a word processor's soft line break) or too long a text. Only the
    fields the purchase reads: a card for oneself reads no gift's fields."""
    for name, field in FIELDS.items():
        if for_me and name not in _MINE:
            continue
        value = getattr(form, name).strip()
        problem = field_problem(field.label, value, field.most, multiline=field.multiline)
        if problem is not None:
            raise FormProblem(problem)


def order_of(business: Business, form: ShopForm, now: datetime) -> tuple[Buyer, GiftOrder]:
    """The buyer and the gift order the form asks for, or `FormProblem` saying what to fix.
    The limits are the API's gift purchase's (`GiftPurchase`)."""
    for_me = form.for_whom != "someone"
    form = replace(form, message=lines(form.message))  # a browser sends CRLF
    _check_text(form, for_me=for_me)
    try:
        amount = Money.parse(form.amount, business.currency)
    except MoneyError:
        raise FormProblem(
            f"Amount: give an amount in {business.currency}, such as 25 or 25.00."
        ) from None
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
    except ValidationError as exc:
        raise FormProblem(_words(exc, buyer=True)) from None
    try:
        purchase = GiftPurchase.model_validate(fields)
    except ValidationError as exc:
        raise FormProblem(_words(exc, buyer=for_me)) from None
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


def _words(exc: ValidationError, *, buyer: bool) -> str:
    """What the API's validation error on a field means, in words for the form (the buyer's
    own email is checked in the recipient's place)."""
    error = exc.errors()[0]
    field = str(error["loc"][0]) if error["loc"] else ""
    label = _LABELS.get(field, field)
    if field == "recipient_email":
        label = "Your email" if buyer else "Their email"
        return f"{label}: give an address such as name@example.com."
    if field == "amount_minor":
        if error["type"] == "greater_than":
            return "Amount: give an amount above zero."
        return "Amount: that is more than a card can hold. Choose a smaller amount."
    if field == "recipient_name" and error["type"] == "string_too_short":
        return "Give their name."
    if error["type"] == "string_too_long":
        return f"{label}: shorten it to at most {error['ctx']['max_length']} characters."
    return f"{label}: {error['msg'].removeprefix('Value error, ').rstrip('.')}."


def refusal_words(answer: dict[str, Any], currency: str) -> str:
    """What a refused purchase's answer (its problem document) says, in words for the shop's
    form: the API's, but where they speak of an existing card or of the API."""
    if answer.get("type") == PROBLEM_BASE + CardBalanceLimit.code:
        most = Money.of(int(answer["limit_minor"]), currency).format()
        return f"A card can hold at most {most}: choose a smaller amount."
    return str(answer.get("detail", ""))


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


def code_problem(code: str) -> str | None:
    """What is wrong with a code as typed, in words; None when nothing is."""
    return field_problem("Code", code.strip(), MAX_CODE)


def card_balance_by_code(session: Session, code: str) -> Balance | None:
    """The card a code names: the code from its gift email (`ABCD-EFGH-JKMN`), or its QR
    code's text. None when no card has it. Check the text first with `code_problem`."""
    text = code.strip()
    card = session.scalar(select(GiftCard).where(GiftCard.token == text)) if text else None
    if card is None and text:
        gift = session.scalar(select(Gift).where(Gift.code_hash == hash_code(text)))
        card = session.get(GiftCard, gift.card_id) if gift is not None else None
    return None if card is None else _balance(session, card)
