from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sync.wire import CardStatus

from ..db import Base, BigId, UtcDateTime, str_enum, utcnow
from ..events import Recorded
from ..events.models import EventEntity, EventKind
from ..ids import ID_LENGTH, PAYMENT_CARD_KEY_LENGTH, make_id


def _enum(kind: type[enum.Enum]) -> Enum:
    return Enum(kind, native_enum=False, length=20, values_callable=lambda k: [m.value for m in k])


class Purpose(enum.StrEnum):
    CARD = "card"  # one gift card's balance: what its holder can spend
    CLEARING = "clearing"  # customers' payments received through the gateway
    HOLDS = "holds"  # amounts held (pending) at a business's tills
    VOUCHERS = "vouchers"  # paid for deal vouchers not yet redeemed
    REVENUE = "revenue"  # value redeemed at a business: the platform owes it to them
    BREAKAGE = "breakage"  # balances left on expired cards
    SHORTFALL = "shortfall"  # offline overspend a business's terminals approved
    CLUB = "club"  # a club's fund: donations in, club purchases out
    PRIZES = "prizes"  # contest prizes a business (or the platform) gave as gift cards


class LedgerAccount(Base):
    __tablename__ = "ledger_accounts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)
    purpose: Mapped[Purpose] = mapped_column(_enum(Purpose))
    currency: Mapped[str] = mapped_column(String(3))
    business_id: Mapped[str | None] = mapped_column(ForeignKey("businesses.id"), index=True)
    balance_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    allow_negative: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (
        CheckConstraint("allow_negative OR balance_minor >= 0", name="not_overdrawn"),
    )


class TransferKind(enum.StrEnum):
    """What a ledger transfer was for."""

    PURCHASE = "purchase"
    REDEMPTION = "redemption"
    OFFLINE_REDEMPTION = "offline-redemption"  # a terminal's, pushed after the sale
    OFFLINE_SHORTFALL = "offline-shortfall"  # what an offline sale took beyond the balance
    REFUND = "refund"  # an owner's refund of (part of) one redemption
    VOID = "void"  # a terminal's cancelling of one of its redemptions, at the counter
    EXPIRY = "expiry"  # what was left at expiry, to breakage
    HOLD = "hold"
    HOLD_POSTED = "hold-posted"
    HOLD_RELEASED = "hold-released"
    CARD_TRANSFER = "card-transfer"
    VOUCHER_SALE = "voucher-sale"
    VOUCHER_REDEMPTION = "voucher-redemption"
    OFFLINE_VOUCHER_REDEMPTION = "offline-voucher-redemption"  # a terminal's, pushed after
    DONATION = "donation"  # a payment, or a gift card's value, into a club's fund
    DONATION_REFUND = "donation-refund"  # a donation back where it came from
    PRIZE = "prize"  # a contest's prize card, paid by the contest's organiser


class PaymentRefund(Base):
    """A payment to give back: a gift-card purchase refused after its charge
    (`purchase.buy_card`). Written with the refusal, so it exists only if the refusal is
    the request's answer; given back after that commit, or by the jobs' round if that
    failed (`purchase.give_back`). The gateway's key (`refund_key`) makes it once."""

    __tablename__ = "payment_refunds"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=make_id)
    payment_reference: Mapped[str] = mapped_column(String(200))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    refund_key: Mapped[str] = mapped_column(String(250), unique=True)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    refunded_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    refund_reference: Mapped[str | None] = mapped_column(String(200))


class CardLiability(Base):
    """What a business's gift cards hold together, as changes: every move of a card's
    balance adds a row (`ledger.post`), so no sale waits on another for it; the liability
    limit's check, under the business's clearing lock, sums them and folds them into one
    row (`ledger.card_liability`). Summing the cards' accounts instead read every card the
    business ever sold, on every purchase."""

    __tablename__ = "card_liability"
    __table_args__ = (Index("ix_card_liability_business", "business_id", "currency"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    business_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    currency: Mapped[str] = mapped_column(String(3))
    change_minor: Mapped[int] = mapped_column(BigInteger)


class Transfer(Base):
    """One movement of an amount from a debit account to a credit account (same currency).
    Transfers are never edited: corrections are new transfers."""

    __tablename__ = "transfers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    operation_id: Mapped[str] = mapped_column(String(ID_LENGTH), index=True)
    kind: Mapped[TransferKind] = mapped_column(str_enum(TransferKind, 30))
    debit_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), index=True)
    credit_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), index=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    card_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), index=True)
    memo: Mapped[str] = mapped_column(String(200), default="")  # ledger.MEMO_LENGTH
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    # A refund names the redemption (its operation id) it gives back part of: refunds of
    # one redemption add up to at most what it took.
    refund_of: Mapped[str | None] = mapped_column(String(ID_LENGTH), index=True, default=None)
    # Where it happened (`ledger.Origin`): the business whose accounts it moves between, and
    # the branch, till and cashier where there were any. Reports group by these.
    business_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), default=None)
    branch_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), default=None)
    device_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), default=None)
    cashier_id: Mapped[str | None] = mapped_column(String(36), default=None)

    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="positive"),
        # A business's report reads its transfers of a date range.
        Index("ix_transfers_business_created", "business_id", "created_at"),
    )


class PaymentCardLoad(Base):
    """What one payment card loaded onto gift cards on one UTC day, in one currency: the
    daily load limit's counter. The card is known by its gateway token and last four
    digits (`payments.payment_card_key`), never its number; one row per card and day,
    raised by a conditional update (as ledger balances are), so two purchases with the same
    card at once cannot both pass the limit."""

    __tablename__ = "payment_card_loads"

    payment_card: Mapped[str] = mapped_column(String(PAYMENT_CARD_KEY_LENGTH), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    loaded_minor: Mapped[int] = mapped_column(BigInteger, default=0)


class GiftCard(Recorded, Base):
    __tablename__ = "gift_cards"
    __event_entity__ = EventEntity.CARD

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=make_id)
    business_id: Mapped[str] = mapped_column(ForeignKey("businesses.id"), index=True)
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), unique=True)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[CardStatus] = mapped_column(_enum(CardStatus), default=CardStatus.ACTIVE)
    token_id: Mapped[str] = mapped_column(String(16))  # the cti of the current token
    token: Mapped[str] = mapped_column(String(240))  # its QR text
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Loaded with the card where a sale needs both (`cards.find_card`), else on first use.
    account: Mapped[LedgerAccount] = relationship()

    # The terminals' first sync pages through a business's cards in id order.
    __table_args__ = (
        Index("ix_gift_cards_business_snapshot", "business_id", "id"),
        Index("ix_gift_cards_expires_at", "expires_at"),  # expiry reminders look ahead by it
    )


class IssuedToken(Recorded, Base):
    """Every token the server has signed, gift card or voucher. Its cti is unique within
    the business; a re-issued card's old tokens are revoked here."""

    __tablename__ = "issued_tokens"
    __event_entity__ = EventEntity.REVOCATION

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    business_id: Mapped[str] = mapped_column(ForeignKey("businesses.id"))
    token_id: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[str] = mapped_column(String(ID_LENGTH), index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)

    __table_args__ = (UniqueConstraint("business_id", "token_id"),)

    def event_key(self) -> tuple[str, str]:
        return self.business_id, self.token_id

    def event_wanted(self, kind: EventKind) -> bool:
        # Terminals learn of a token only once it is revoked (the card or voucher
        # itself carries the rest).
        return kind is EventKind.UPDATED and self.revoked_at is not None


class HoldStatus(enum.StrEnum):
    PENDING = "pending"
    POSTED = "posted"
    VOIDED = "voided"
    EXPIRED = "expired"


class Hold(Base):
    __tablename__ = "holds"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=make_id)
    card_id: Mapped[str] = mapped_column(ForeignKey("gift_cards.id"), index=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    posted_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[HoldStatus] = mapped_column(_enum(HoldStatus), default=HoldStatus.PENDING)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class IdempotencyRecord(Base):
    """The first answer to a mutating request, replayed for every retry with its key."""

    __tablename__ = "idempotency_records"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(40))  # who sent it: a user or a device
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("scope", "key"),)
