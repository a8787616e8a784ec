"""Notifications' tables: the consumer's cursors, the outbox, the inbox, preferences and
the phones registered for push."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, BigId, UtcDateTime, str_enum, utcnow
from ..ids import ID_LENGTH, make_id
from ..outbox import Delivery, Leased, LogCursor

__all__ = [
    "ACCOUNT_MAIL_KINDS",
    "REQUIRED_KINDS",
    "SECURITY_KINDS",
    "Channel",
    "Delivery",
    "InboxItem",
    "Notification",
    "NotificationCursor",
    "NotificationKind",
    "NotificationPreference",
    "PushDevice",
]


class NotificationKind(enum.StrEnum):
    CARD_BOUGHT = "card_bought"  # to the buyer: the purchase's receipt (a gift's too)
    GIFT_CLAIMED = "gift_claimed"  # to a gift's buyer and to whom claimed it
    CARD_REDEEMED = "card_redeemed"  # to the card's owner: the redemption's receipt
    DONATION_RECEIPT = "donation_receipt"  # to a club's donor: the donation's receipt
    DONATION_REFUNDED = "donation_refunded"  # to a club's donor: the refund's receipt
    CLUB_HANDOUT = "club_handout"  # to a member: a club handed them a gift card or voucher
    LOW_BALANCE = "low_balance"  # a redemption left less than the threshold
    INCIDENT_OPENED = "incident_opened"  # to the business's owner
    CARD_EXPIRING = "card_expiring"  # 30, 7 and 1 days before a card with money on it expires
    VOUCHER_EXPIRING = "voucher_expiring"  # 7 and 1 days before an unused voucher expires
    SAVED_DEAL_ENDING = "saved_deal_ending"  # a deal someone saved ends within a day
    NEW_DEAL = "new_deal"  # from a favourite business, or in a liked category near home
    WEBHOOK_DISABLED = "webhook_disabled"  # to the business's owner
    # To the business's owner: each billing notice (an invoice, a failed payment, a final
    # notice, a suspension, a plan change…). Account-critical, so it cannot be turned off.
    BILLING_NOTICE = "billing_notice"
    # A contest's results: to the winners (a winning club's founder and organisers), and to
    # the founder and organisers of every other club that entered.
    CONTEST_WON = "contest_won"
    CONTEST_RESULT = "contest_result"
    # Security: written by the accounts area in the transaction of the change.
    NEW_DEVICE = "new_device"  # a sign-in from a device the account had not used
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 - a kind's name, not a secret
    # Account mail: a one-time code, by email only, not a choice.
    EMAIL_VERIFICATION = "email_verification"
    PASSWORD_RESET = "password_reset"  # noqa: S105 - a kind's name, not a secret


# Account mail goes by email alone; its body holds a one-time code, blanked once sent.
ACCOUNT_MAIL_KINDS = frozenset(
    {NotificationKind.EMAIL_VERIFICATION, NotificationKind.PASSWORD_RESET}
)
SECURITY_KINDS = frozenset({NotificationKind.NEW_DEVICE, NotificationKind.PASSWORD_CHANGED})
# Receipts, billing notices and security messages cannot be turned off (on any channel).
REQUIRED_KINDS = frozenset(
    {
        NotificationKind.CARD_BOUGHT,
        NotificationKind.CARD_REDEEMED,
        NotificationKind.DONATION_RECEIPT,
        NotificationKind.DONATION_REFUNDED,
        NotificationKind.BILLING_NOTICE,
    }
    | SECURITY_KINDS
    | ACCOUNT_MAIL_KINDS
)


class Channel(enum.StrEnum):
    EMAIL = "email"
    INBOX = "inbox"  # the app's in-app inbox
    PUSH = "push"


class NotificationCursor(LogCursor, Base):
    """How far the consumer has read a business's event log."""

    __tablename__ = "notification_cursors"


class Notification(Leased, Base):
    """The outbox: one message to one person on one channel.

    `source_id` is what the message is about (a ledger operation, an incident, a session, a
    one-time code): one row per (kind, source, person, channel), so reading an event again,
    or another event about the same operation, never writes a second one. Messages the log
    did not cause (account mail, security) have no business or event."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[NotificationKind] = mapped_column(str_enum(NotificationKind, 30))
    source_id: Mapped[str] = mapped_column(String(40))  # an id, or an id and a reminder's day
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, 10))
    business_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    event_id: Mapped[int | None] = mapped_column(
        BigInteger
    )  # the event that caused it; null: the clock or an account change
    title: Mapped[str] = mapped_column(String(200))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    __table_args__ = (
        Index("ix_notifications_once", "kind", "source_id", "user_id", "channel", unique=True),
        Index("ix_notifications_due", "status", "next_attempt_at"),
    )


class InboxItem(Base):
    """A notification delivered to the in-app inbox."""

    __tablename__ = "inbox_items"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=make_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    notification_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    kind: Mapped[NotificationKind] = mapped_column(str_enum(NotificationKind, 30))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)

    __table_args__ = (Index("ix_inbox_items_user_created", "user_id", "created_at"),)


class NotificationPreference(Base):
    """A person's choice for one kind on one channel; no row means on."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    kind: Mapped[NotificationKind] = mapped_column(str_enum(NotificationKind, 30), primary_key=True)
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, 10), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)


class PushDevice(Base):
    """A phone registered for push (its FCM registration token)."""

    __tablename__ = "push_devices"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=make_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    token: Mapped[str] = mapped_column(String(512), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
