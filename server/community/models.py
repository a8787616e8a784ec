"""Clubs and their members."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, Float, ForeignKey, Index, String, Text, event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Mapper, mapped_column

from ..db import Base, BigId, UtcDateTime, str_enum, utcnow
from ..folding import fold
from ..ids import ID_LENGTH, PAYMENT_CARD_KEY_LENGTH, make_id

__all__ = [
    "CardDonationPolicy",
    "Club",
    "ClubHolding",
    "ClubInvitation",
    "ClubMember",
    "ClubMovement",
    "ClubRole",
    "Donation",
    "HoldingKind",
    "JoinPolicy",
    "Membership",
    "MovementKind",
]


class JoinPolicy(enum.StrEnum):
    OPEN = "open"  # anyone joins at once
    APPROVAL = "approval"  # asking makes a request an organiser approves
    INVITATION = "invitation"  # only with an invitation code from an organiser


class ClubRole(enum.StrEnum):
    FOUNDER = "founder"  # one per club: everything an organiser may, and naming organisers
    ORGANISER = "organiser"  # approves, invites, removes members
    MEMBER = "member"


class Membership(enum.StrEnum):
    ACTIVE = "active"
    REQUESTED = "requested"  # asked to join a club that approves its members
    # Removed by an organiser: kept so they cannot join again by themselves (an invitation
    # code lets them back); not a member, and seen by no one.
    REMOVED = "removed"


class Club(Base):
    __tablename__ = "clubs"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=make_id)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    latitude: Mapped[float | None] = mapped_column(Float, default=None)
    longitude: Mapped[float | None] = mapped_column(Float, default=None)
    home_business_id: Mapped[str | None] = mapped_column(
        ForeignKey("businesses.id"), index=True, default=None
    )
    join_policy: Mapped[JoinPolicy] = mapped_column(str_enum(JoinPolicy, 12))
    currency: Mapped[str] = mapped_column(String(3), default="GBP", server_default="GBP")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    search_text: Mapped[str] = mapped_column(Text, default="")
    # A club with money on record is closed, not deleted: its donations and history stay.
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)


@event.listens_for(Club, "before_insert")
@event.listens_for(Club, "before_update")
def _fold_club(_mapper: Mapper[Club], _connection: Connection, club: Club) -> None:
    club.search_text = fold(f"{club.name} {club.description or ''}")


class ClubMember(Base):
    __tablename__ = "club_members"

    club_id: Mapped[str] = mapped_column(ForeignKey("clubs.id"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    role: Mapped[ClubRole] = mapped_column(str_enum(ClubRole, 12), default=ClubRole.MEMBER)
    status: Mapped[Membership] = mapped_column(str_enum(Membership, 12))
    display_name: Mapped[str] = mapped_column(String(60))  # all other members ever see
    joined_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    __table_args__ = (Index("ix_club_members_club_status", "club_id", "status"),)


class Donation(Base):
    """A gift of money into a club's fund (its ledger account), paid through the gateway
    (`payment_reference`) or from a gift card's balance (`card_id`). A paid one keeps the
    payment card it was paid with (`payments.payment_card_key`, never the number) and the
    UTC day it counted on against that card's daily limit (`counted_on`), so that its refund
    frees that room (`limits.release_payment_card_load`); both NULL when a gift card paid,
    and for donations made before they were kept."""

    __tablename__ = "club_donations"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=make_id)
    club_id: Mapped[str] = mapped_column(ForeignKey("clubs.id"), index=True)
    donor_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    message: Mapped[str] = mapped_column(String(280), default="")
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    operation_id: Mapped[str] = mapped_column(String(ID_LENGTH))  # its ledger transfer
    payment_reference: Mapped[str] = mapped_column(String(120))  # "" when from a gift card
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    card_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), default=None)
    refunded_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    refunded_by: Mapped[str | None] = mapped_column(String(ID_LENGTH), default=None)
    payment_card: Mapped[str | None] = mapped_column(String(PAYMENT_CARD_KEY_LENGTH), default=None)
    counted_on: Mapped[date | None] = mapped_column(Date, default=None)


class ClubInvitation(Base):
    """A code an organiser hands out; joining with it works once, until it expires."""

    __tablename__ = "club_invitations"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    club_id: Mapped[str] = mapped_column(ForeignKey("clubs.id"), index=True)
    created_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)


class CardDonationPolicy(Base):
    """Whether a business lets its gift cards' balances be donated to clubs. No row: not."""

    __tablename__ = "card_donation_policies"

    business_id: Mapped[str] = mapped_column(ForeignKey("businesses.id"), primary_key=True)
    allowed: Mapped[bool] = mapped_column(Boolean, default=False)
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class HoldingKind(enum.StrEnum):
    GIFT_CARD = "gift_card"
    VOUCHER = "voucher"


class ClubHolding(Base):
    """A gift card or voucher the club's fund paid for, or a prize card it won in a contest:
    the club holds it (no one's account) until an organiser hands it to a member."""

    __tablename__ = "club_holdings"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=make_id)
    club_id: Mapped[str] = mapped_column(ForeignKey("clubs.id"), index=True)
    kind: Mapped[HoldingKind] = mapped_column(str_enum(HoldingKind, 12))
    item_id: Mapped[str] = mapped_column(String(ID_LENGTH), unique=True)  # card or voucher
    business_id: Mapped[str] = mapped_column(ForeignKey("businesses.id"))
    amount_minor: Mapped[int] = mapped_column(BigInteger)  # what the fund paid
    currency: Mapped[str] = mapped_column(String(3))
    # Who bought it; for a prize, who entered the club in the contest (shown as no one's).
    bought_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    bought_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    # The contest a prize card was won in (what the fund paid, `amount_minor`, is then 0).
    contest_id: Mapped[str | None] = mapped_column(ForeignKey("contests.id"), default=None)
    handed_to: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)
    handed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)


class MovementKind(enum.StrEnum):
    DONATION = "donation"  # into the fund
    DONATION_REFUNDED = "donation_refunded"  # out of it, back where it came from
    PURCHASE = "purchase"  # out of it, for a gift card or voucher the club holds
    HANDED_OVER = "handed_over"  # a held item into a member's account (no money moves)
    PRIZE_WON = "prize_won"  # a prize card the club won in a contest, now held (no money moves)


class ClubMovement(Base):
    """One line of a club's history, written with the movement it tells of. Who acted is
    read at display time (members see display names only); `anonymous` hides a donor."""

    __tablename__ = "club_movements"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    club_id: Mapped[str] = mapped_column(ForeignKey("clubs.id"))
    kind: Mapped[MovementKind] = mapped_column(str_enum(MovementKind, 20))
    amount_minor: Mapped[int] = mapped_column(BigInteger)  # signed: + into the fund, - out
    currency: Mapped[str] = mapped_column(String(3))
    actor_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    subject_id: Mapped[str] = mapped_column(String(ID_LENGTH))  # the donation or holding
    memo: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    __table_args__ = (Index("ix_club_movements_club_id_id", "club_id", "id"),)
