"""Gifting's rules: buy a gift (the wallet's one purchase, with the card in no one's
account), claim it by its code, cancel it before it is sent, list a buyer's gifts.

No HTTP and no "current user" here: the buyer is a `Buyer` — an account, or (for a shop
page whose buyer is not signed in) an email address alone."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from ..accounts.codes import hash_code, new_account_code
from ..accounts.models import User
from ..db import rowcount
from ..errors import GiftCodeNotValid, GiftDeliveryTime, GiftNotCancellable, GiftNotFound
from ..outbox import Delivery
from ..wallet.models import GiftCard
from ..wallet.purchase import CardSale, Sales, buy_card, selling_business
from .models import Gift, GiftReceipt, GiftState

__all__ = [
    "LATEST_DELIVERY",
    "PAST_GRACE",
    "Buyer",
    "GiftOrder",
    "buy_gift",
    "cancel_gift",
    "claim_gift",
    "delivery_time",
    "gift_of",
    "gifts_bought_by",
]

# A delivery time a little in the past (a clock behind, a slow form) means "now"; further
# back is a mistake. A year ahead is as far as a gift may wait (the card lasts two).
PAST_GRACE = timedelta(minutes=10)
LATEST_DELIVERY = timedelta(days=366)


@dataclass(frozen=True, slots=True)
class Buyer:
    """Who pays for a gift: an account (`user_id`), or an email alone (`user_id` None)."""

    email: str
    name: str = ""
    user_id: str | None = None


@dataclass(frozen=True, slots=True)
class GiftOrder:
    business_id: str
    amount_minor: int
    card_number: str
    recipient_email: str
    recipient_name: str
    message: str
    deliver_at: datetime | None  # timezone-aware; None: now


def delivery_time(asked: datetime | None, now: datetime) -> datetime:
    """When the gift's email goes: `asked` (now if None), or `GiftDeliveryTime` saying why
    not — in the past, more than a year ahead, or without a timezone."""
    if asked is None:
        return now
    if asked.tzinfo is None or asked.utcoffset() is None:
        raise GiftDeliveryTime(
            "Give the delivery time with its timezone (e.g. 2027-01-31T09:00:00+01:00), "
            "or leave it out to send the gift now."
        )
    if asked < now - PAST_GRACE:
        raise GiftDeliveryTime(
            f"The delivery time {asked.isoformat()} has passed: choose a later time, or "
            "leave it out to send the gift now."
        )
    if asked > now + LATEST_DELIVERY:
        raise GiftDeliveryTime(
            f"A gift can wait at most {LATEST_DELIVERY.days} days: choose a delivery time "
            f"no later than {(now + LATEST_DELIVERY).astimezone(UTC):%Y-%m-%dT%H:%MZ}."
        )
    return max(asked, now).astimezone(UTC)  # kept and answered in UTC, as every time


def buy_gift(
    session: Session,
    sales: Sales,
    buyer: Buyer,
    order: GiftOrder,
    *,
    payment_key: str,
    address: str | None,
    now: datetime,
) -> Gift:
    """Buy a card for someone, in the caller's transaction: the same purchase (limits,
    fraud rules, payment) as a card for oneself, but the card goes into no one's account
    until the recipient claims it. Its email is due at the delivery time.

    A buyer without an account (the shop page, not signed in) buying for someone else is
    emailed a receipt at once (`GiftReceipt`), written here so a purchase retried or sent
    twice writes one: an account's receipt is its `card_bought` notification, and a card
    bought for one's own email arrives there itself."""
    business = selling_business(session, order.business_id)
    deliver_at = delivery_time(order.deliver_at, now)
    sale = CardSale(
        amount_minor=order.amount_minor,
        card_number=order.card_number,
        payment_key=payment_key,
        owner_id=None,
        customer_id=buyer.user_id,
        address=address,
    )
    card = buy_card(session, sales, business, sale)
    code = new_account_code()
    gift = Gift(
        card_id=card.id,
        business_id=business.id,
        amount_minor=order.amount_minor,
        currency=business.currency,
        buyer_id=buyer.user_id,
        buyer_email=buyer.email,
        from_name=buyer.name,
        recipient_email=order.recipient_email,
        recipient_name=order.recipient_name,
        message=order.message,
        deliver_at=deliver_at,
        code_hash=hash_code(code),
        code=code,
        next_attempt_at=deliver_at,
        created_at=now,
    )
    session.add(gift)
    session.flush()
    if buyer.user_id is None and not gift.for_its_buyer:
        session.add(GiftReceipt(id=gift.id, next_attempt_at=now, created_at=now))
        session.flush()
    return gift


def claim_gift(session: Session, user: User, code: str, now: datetime) -> Gift:
    """Put the gift whose code this is into `user`'s account. Any account may claim it by
    the code, whatever its email: the code is what proves the gift is theirs, as a paper
    gift card would. A code works once; the same account claiming again gets the same
    gift. A wrong, used or cancelled code is `GiftCodeNotValid` and changes nothing."""
    gift = session.scalar(select(Gift).where(Gift.code_hash == hash_code(code)))
    if gift is not None and gift.recipient_id == user.id:
        return gift  # claimed already, by this account: a retry
    if gift is None or gift.claimed_at is not None or gift.cancelled_at is not None:
        raise GiftCodeNotValid(
            "That gift code does not work: it is wrong, or the gift was claimed already or "
            "cancelled by its buyer. Check the code in the gift email, or ask the sender."
        )
    # Conditional, so two claims at once cannot both take it (nor a cancel and a claim).
    taken = rowcount(
        session.execute(
            update(Gift)
            .where(Gift.id == gift.id, Gift.claimed_at.is_(None), Gift.cancelled_at.is_(None))
            .values(recipient_id=user.id, claimed_at=now)
            .execution_options(synchronize_session=False)
        )
    )
    if taken != 1:
        session.refresh(gift)
        if gift.recipient_id == user.id:
            return gift  # this account's other request took it a moment ago: a retry
        raise GiftCodeNotValid(
            "That gift was claimed or cancelled a moment ago: it is no longer available."
        )
    session.get_one(GiftCard, gift.card_id).owner_id = user.id
    session.flush()
    session.refresh(gift)
    return gift


def gift_of(session: Session, buyer_id: str, gift_id: str) -> Gift:
    """One of the buyer's gifts; anyone else's is `GiftNotFound`, as if it did not exist."""
    gift = session.get(Gift, gift_id)
    if gift is None or gift.buyer_id != buyer_id:
        raise GiftNotFound(f"You bought no gift {gift_id!r}: check the id in your gifts list.")
    return gift


def cancel_gift(session: Session, gift: Gift, now: datetime) -> Gift:
    """Cancel a gift whose email has not gone yet (waiting, or given up on): its code stops
    working and its card goes into the buyer's own account, whole (the payment is not given
    back to the payment card; the buyer spends the card or gives it again). Cancelling
    again changes nothing. `GiftNotCancellable` once the email is sent, or being sent this
    moment."""
    if gift.cancelled_at is not None:
        return gift
    if gift.buyer_id is None:
        raise GiftNotCancellable(
            "This gift was bought without an account, so it has no account to go back to: "
            "contact support to cancel it."
        )
    stopped = rowcount(
        session.execute(
            update(Gift)
            .where(
                Gift.id == gift.id,
                Gift.status.in_([Delivery.PENDING, Delivery.FAILED]),  # not sent
                Gift.claimed_at.is_(None),
                Gift.cancelled_at.is_(None),
                or_(Gift.claimed_until.is_(None), Gift.claimed_until < now),
            )
            .values(
                cancelled_at=now,
                status=Delivery.FAILED,  # never claimed for sending again
                code="",
                last_error="cancelled by the buyer",
            )
            .execution_options(synchronize_session=False)
        )
    )
    if stopped != 1:
        session.refresh(gift)
        if gift.cancelled_at is not None:
            return gift  # the buyer's other request cancelled it a moment ago: a retry
        raise GiftNotCancellable(_why_not(gift))
    session.get_one(GiftCard, gift.card_id).owner_id = gift.buyer_id
    session.flush()
    session.refresh(gift)
    return gift


def _why_not(gift: Gift) -> str:
    if gift.state is GiftState.SCHEDULED:
        return "The gift email is being sent this moment, so it can no longer be cancelled."
    return (
        f"This gift is {gift.state.value}, so it can no longer be cancelled: only a gift "
        "whose email has not gone yet can be."
    )


def gifts_bought_by(
    session: Session, buyer_id: str, offset: int, limit: int
) -> tuple[Sequence[Gift], int]:
    """A page of the buyer's gifts, newest first, and how many there are in all."""
    total = session.scalar(select(func.count()).where(Gift.buyer_id == buyer_id)) or 0
    page = session.scalars(
        select(Gift)
        .where(Gift.buyer_id == buyer_id)
        .order_by(Gift.created_at.desc(), Gift.id)
        .offset(offset)
        .limit(limit)
    ).all()
    return page, total
