"""The shop's rules, apart from HTTP: read a shop form into a gift order, find a card by
the code a customer types or scans. A card bought in the shop is always a gift — for
oneself it is a gift to one's own email — so it arrives by email with its QR code; bought
for oneself by a signed-in customer, it is claimed into their account at once."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from pydantic import EmailStr, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails
from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.money import Money, MoneyError

from ..accounts.codes import hash_code
from ..accounts.models import User
from ..billing.subscriptions import standing
from ..directory.models import Business
from ..errors import (
    PROBLEM_BASE,
    CardBalanceLimit,
    GiftDeliveryTime,
    PaymentCardDailyLimit,
    PaymentDeclined,
)
from ..gifts.addresses import same_address
from ..gifts.models import Gift, GiftReceipt
from ..gifts.schemas import GiftPurchase
from ..gifts.service import LATEST_DELIVERY, Buyer, GiftOrder
from ..outbox import Delivery
from ..wallet import cards
from ..wallet.models import GiftCard
from ..web.forms import field_problem, lines

__all__ = [
    "ALREADY_SENT",
    "FIELDS",
    "MAX_CODE",
    "Balance",
    "FormProblem",
    "ReceiptBy",
    "ShopField",
    "ShopForm",
    "card_balance_by_code",
    "cards_of",
    "claim_code_problem",
    "code_problem",
    "keeps_it",
    "latest_day",
    "open_shop",
    "order_of",
    "receipt_of",
    "refusal_of",
]

MAX_CODE = 300  # a gift email's code, or a card's QR text (at most 240)
MAX_CLAIM_CODE = 40  # the API's `GiftClaim`
_CLAIM_CODE = re.compile(r"[A-Za-z0-9 -]+")
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
# The form's fields in the page's order: its problems are said in it.
_ORDER = (
    "amount",
    "email",
    "name",
    "recipient_name",
    "recipient_email",
    "message",
    "deliver_on",
    "card_number",
)
# The form's field each of the API's fields comes from (a card for oneself: `_ME`).
_FORM_NAMES = {
    "amount_minor": "amount",
    "payment": "card_number",
    "recipient_email": "recipient_email",
    "recipient_name": "recipient_name",
    "message": "message",
    "from_name": "name",
}
_ME = {"recipient_email": "email", "recipient_name": "name"}
_LABELS = {"amount": "Amount", **{name: field.label for name, field in FIELDS.items()}}
# The field to change when a purchase is refused for this reason (the problem's `type`).
_REFUSED_FIELDS = {
    PaymentDeclined.code: "card_number",
    PaymentCardDailyLimit.code: "card_number",
    GiftDeliveryTime.code: "deliver_on",
}
_EMAIL: TypeAdapter[str] = TypeAdapter(EmailStr)
SEND_AT = time(9)  # a gift for a later day is sent at 09:00 UTC that day


class FormProblem(ValueError):
    """What is wrong with the form, in words for the person filling it in: each wrong
    field's words by the field's name (in the form's order; "" for the form as a whole)."""

    def __init__(self, problems: dict[str, str]) -> None:
        ordered = {name: problems[name] for name in _ORDER if name in problems}
        ordered |= {name: words for name, words in problems.items() if name not in ordered}
        super().__init__(" ".join(ordered.values()))
        self.problems = ordered


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


def latest_day(now: datetime) -> date:
    """The last day a gift may be sent on: its 09:00 UTC at most `LATEST_DELIVERY` ahead."""
    last = now + LATEST_DELIVERY
    day = last.date()
    return day if datetime.combine(day, SEND_AT, tzinfo=UTC) <= last else day - timedelta(days=1)


def _delivery(deliver_on: str, now: datetime) -> datetime | None:
    if not deliver_on.strip():
        return None
    try:
        day = date.fromisoformat(deliver_on.strip())
    except ValueError:
        raise FormProblem(
            {"deliver_on": "Delivery date: give a date such as 2027-01-31, or leave it empty."}
        ) from None
    if day < now.date():
        raise FormProblem(
            {"deliver_on": "Delivery date: that day has passed. Choose today or a later day."}
        )
    if day > latest_day(now):
        raise FormProblem(
            {
                "deliver_on": "Delivery date: a gift can wait at most a year. Choose a day on "
                f"or before {latest_day(now):%d %B %Y}."
            }
        )
    if day == now.date():
        return None  # today: now
    return datetime.combine(day, SEND_AT, tzinfo=UTC)


def _text_problems(form: ShopForm, *, for_me: bool) -> dict[str, str]:
    """Text the API would refuse, in words naming the field: a control character (often
    pasted in: a word processor's soft line break) or too long a text. Only the fields the
    purchase reads: a card for oneself reads no gift's fields."""
    problems: dict[str, str] = {}
    for name, field in FIELDS.items():
        if for_me and name not in _MINE:
            continue
        value = getattr(form, name).strip()
        problem = field_problem(field.label, value, field.most, multiline=field.multiline)
        if problem is not None:
            problems[name] = problem
    return problems


def order_of(
    business: Business, form: ShopForm, now: datetime, *, card_most_minor: int | None = None
) -> tuple[Buyer, GiftOrder]:
    """The buyer and the gift order the form asks for, or `FormProblem` saying what to fix
    in every wrong field at once. The limits are the API's gift purchase's (`GiftPurchase`);
    `card_most_minor`, the most a card may hold, is said with the other fields' problems
    (the purchase checks it again). A card for oneself is a gift to one's own email,
    greeting one by name (or email)."""
    for_me = form.for_whom != "someone"
    form = replace(form, message=lines(form.message))  # a browser sends CRLF
    problems = _text_problems(form, for_me=for_me)
    amount_minor = 1  # a stand-in while the amount's own problem is said
    try:
        amount_minor = Money.parse(form.amount, business.currency).minor
    except MoneyError:
        problems["amount"] = f"Amount: give an amount in {business.currency}, such as 25 or 25.00."
    if card_most_minor is not None and amount_minor > card_most_minor:
        problems["amount"] = _too_much(card_most_minor, business.currency)
    deliver_at = None
    if not for_me:
        try:
            deliver_at = _delivery(form.deliver_on, now)
        except FormProblem as exc:
            problems |= exc.problems
    if not form.card_number.strip():
        problems.setdefault("card_number", "Payment card number: type the card's number.")
    email = form.email.strip()
    try:
        _EMAIL.validate_python(email)
    except ValidationError:
        problems.setdefault("email", "Your email: give an address such as name@example.com.")
    fields = {
        "amount_minor": amount_minor,
        "payment": {"card_number": form.card_number.replace(" ", "").replace("-", "")},
        "recipient_email": email if for_me else form.recipient_email.strip(),
        "recipient_name": (form.name.strip() or email or "you")
        if for_me
        else form.recipient_name.strip(),
        "message": "" if for_me else form.message.strip(),
        "from_name": form.name.strip(),
    }
    try:
        purchase = GiftPurchase.model_validate(fields)
    except ValidationError as exc:
        for error in exc.errors():
            name, words = _words(error, for_me=for_me)
            problems.setdefault(name, words)
        raise FormProblem(problems) from None
    if problems:
        raise FormProblem(problems)
    order = GiftOrder(
        business_id=business.id,
        amount_minor=purchase.amount_minor,
        card_number=purchase.payment.card_number,
        recipient_email=str(purchase.recipient_email),
        recipient_name=purchase.recipient_name,
        message=purchase.message,
        deliver_at=deliver_at,
    )
    return Buyer(email=email, name=purchase.from_name), order


def _words(error: ErrorDetails, *, for_me: bool) -> tuple[str, str]:
    """The form's field an API validation error is about, and what it means in words for
    the form (a card for oneself is sent to the buyer's email, greeting them by name)."""
    field = str(error["loc"][0]) if error["loc"] else ""
    name = (_ME if for_me else _FORM_NAMES).get(field, _FORM_NAMES.get(field, ""))
    label = _LABELS.get(name, field)
    if field == "recipient_email":
        return name, f"{label}: give an address such as name@example.com."
    if field == "amount_minor":
        if error["type"] == "greater_than":
            return name, "Amount: give an amount above zero."
        return name, "Amount: that is more than a card can hold. Choose a smaller amount."
    if field == "recipient_name" and error["type"] == "string_too_short":
        return name, "Give their name."
    if error["type"] == "string_too_long":
        return name, f"{label}: shorten it to at most {error['ctx']['max_length']} characters."
    return name, f"{label}: {error['msg'].removeprefix('Value error, ').rstrip('.')}."


def _too_much(most_minor: int, currency: str) -> str:
    most = Money.of(most_minor, currency).format()
    return f"A card can hold at most {most}: choose a smaller amount."


def refusal_of(answer: dict[str, Any], currency: str) -> FormProblem:
    """What a refused purchase's answer (its problem document) says, in words for the shop's
    form and tied to the field to change: the API's, but where they speak of an existing
    card, of the API, or of a field the form does not have (a card's security code)."""
    kind = str(answer.get("type", "")).removeprefix(PROBLEM_BASE)
    if kind == CardBalanceLimit.code:
        return FormProblem({"amount": _too_much(int(answer["limit_minor"]), currency)})
    if kind == PaymentDeclined.code and answer.get("decline_code") == "incorrect_cvc":
        return FormProblem(
            {"card_number": "The card's security code was refused: use another card."}
        )
    return FormProblem({_REFUSED_FIELDS.get(kind, ""): str(answer.get("detail", ""))})


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


class ReceiptBy(enum.StrEnum):
    """Where a purchase's receipt goes (none: a card for oneself, whose email is it)."""

    EMAIL = "email"  # bought without an account, for someone else: to the email given
    # That receipt, given up on after every try (the address refused, or mistyped): the
    # confirmation page is the receipt.
    NOT_EMAILED = "not-emailed"
    ACCOUNT = "account"  # bought by an account: its `card_bought` notification


def receipt_of(session: Session, gift: Gift) -> ReceiptBy | None:
    """Where the purchase's receipt goes, if anywhere."""
    receipt = session.get(GiftReceipt, gift.id)
    if receipt is not None:
        return ReceiptBy.NOT_EMAILED if receipt.status is Delivery.FAILED else ReceiptBy.EMAIL
    if gift.buyer_id is not None and not gift.for_its_buyer:
        return ReceiptBy.ACCOUNT
    return None


def keeps_it(customer: User | None, form: ShopForm) -> bool:
    """Whether the card goes straight into the signed-in customer's account: one for
    themself, to their account's own email (as they would claim it from that email)."""
    return (
        customer is not None
        and form.for_whom != "someone"
        and same_address(form.email, customer.email)
    )


def claim_code_problem(code: str) -> str | None:
    """What is wrong with a gift's claim code as typed, in words; None when nothing is."""
    text = code.strip()
    problem = field_problem("Code", text, MAX_CLAIM_CODE)
    if problem is None and not _CLAIM_CODE.fullmatch(text):
        problem = "Code: give the code from the gift email, such as ABCD-EFGH-JKMN."
    return problem


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
