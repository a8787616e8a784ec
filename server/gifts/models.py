"""A gift: a card bought for someone, its email (an outbox row the notifications worker
claims by lease, due at the delivery time) and its claim; and the receipt its buyer is
emailed when they bought it without an account (another such row)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UtcDateTime, utcnow
from ..ids import ID_LENGTH, make_id
from ..outbox import Delivery, Leased
from .addresses import same_address

__all__ = ["Gift", "GiftReceipt", "GiftState"]


class GiftState(enum.StrEnum):
    """Where a gift is, as its buyer sees it."""

    SCHEDULED = "scheduled"  # its email waits for the delivery time (or a retry)
    SENT = "sent"  # the email went out; not claimed yet
    CLAIMED = "claimed"  # in the recipient's account
    CANCELLED = "cancelled"  # by the buyer before it was sent: the card went to them
    FAILED = "failed"  # the email could not be sent after every retry


class Gift(Leased, Base):
    """One gift card bought for someone. Until it is claimed its card belongs to no one's
    account (`GiftCard.owner_id` is null), so no one can spend it.

    It is its own outbox row (`Leased`): `next_attempt_at` starts at the delivery time and
    the notifications worker claims it then, as it claims notifications. The claim code is
    kept as a hash; its plain text only until the email is sent (or given up on)."""

    __tablename__ = "gifts"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=make_id)
    card_id: Mapped[str] = mapped_column(ForeignKey("gift_cards.id"), unique=True)
    business_id: Mapped[str] = mapped_column(ForeignKey("businesses.id"))
    amount_minor: Mapped[int] = mapped_column(BigInteger)  # what the card was bought for
    currency: Mapped[str] = mapped_column(String(3))
    # Who bought it: an account, or (a shop page's buyer not signed in) an email alone.
    buyer_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    buyer_email: Mapped[str] = mapped_column(String(254))
    from_name: Mapped[str] = mapped_column(String(100))
    recipient_email: Mapped[str] = mapped_column(String(254))
    recipient_name: Mapped[str] = mapped_column(String(100))
    message: Mapped[str] = mapped_column(Text)
    deliver_at: Mapped[datetime] = mapped_column(UtcDateTime())
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    code: Mapped[str] = mapped_column(String(20))  # blanked once the email is sent
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    last_error: Mapped[str] = mapped_column(Text, default="")
    # The account it was claimed into (`claimed_by` is the worker's lease, from `Leased`).
    recipient_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    __table_args__ = (
        Index("ix_gifts_due", "status", "next_attempt_at"),
        Index("ix_gifts_buyer_created", "buyer_id", "created_at"),
    )

    @property
    def for_its_buyer(self) -> bool:
        """A card its buyer bought for their own address (`same_address`): its email is
        the purchase's receipt, and no other receipt is sent."""
        return same_address(self.recipient_email, self.buyer_email)

    @property
    def state(self) -> GiftState:
        if self.claimed_at is not None:
            return GiftState.CLAIMED
        if self.cancelled_at is not None:
            return GiftState.CANCELLED
        if self.status is Delivery.SENT:
            return GiftState.SENT
        if self.status is Delivery.FAILED:
            return GiftState.FAILED
        return GiftState.SCHEDULED


class GiftReceipt(Leased, Base):
    """The receipt emailed to a gift's buyer who bought it without an account (the shop
    page, not signed in), for someone else: an account gets its receipt as a notification
    (`card_bought`), an email address alone gets this. Its id is its gift's, so a gift has
    one at most; it is written in the purchase's transaction, so a purchase retried or sent
    twice writes it once. What it says is read from the gift when it is sent."""

    __tablename__ = "gift_receipts"

    id: Mapped[str] = mapped_column(ForeignKey("gifts.id"), primary_key=True)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    __table_args__ = (Index("ix_gift_receipts_due", "status", "next_attempt_at"),)
