from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from sync.wire import Flag, Line, Name, Prose

from ..directory.schemas import MoneyPublic
from ..pages import Page
from ..patches import Body
from ..wallet.schemas import PaymentDetails
from .donations import MAX_DONATION_MINOR
from .models import ClubRole, HoldingKind, JoinPolicy, Membership, MovementKind


class Place(Body):
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)


class ClubCreate(Body):
    name: Name = Field(max_length=120)
    currency: Line = Field(default="GBP", max_length=3, description="of its fund: donations")
    description: Prose = Field(default="", max_length=2000)
    place: Place | None = Field(
        default=None, description="where the club meets, to be found nearby"
    )
    home_business_id: Line | None = Field(default=None, max_length=40)
    join_policy: JoinPolicy = JoinPolicy.OPEN
    display_name: Name = Field(max_length=60, description="how other members see you")


class ClubPublic(BaseModel):
    id: str
    name: str
    description: str
    place: Place | None
    home_business_id: str | None
    join_policy: JoinPolicy
    currency: str
    members: int = Field(description="active members")
    distance_km: float | None = None


class ClubPage(Page[ClubPublic]):
    """One page of the club directory."""


class MemberPublic(BaseModel):
    """A member as everyone sees them: a display name, never an account."""

    display_name: str
    role: ClubRole
    joined_at: datetime


class MemberManaged(MemberPublic):
    """A member as the club's organisers see them: with the id they act on."""

    user_id: str
    status: Membership


class ClubJoin(Body):
    display_name: Name = Field(max_length=60, description="how other members see you")
    invitation: Line | None = Field(
        default=None, max_length=40, description="a code from an organiser"
    )


class MyMembership(BaseModel):
    club: ClubPublic
    role: ClubRole
    status: Membership = Field(description="`requested` until an organiser approves")


class InvitationIssued(BaseModel):
    code: str = Field(description="shown once: hand it to the person you invite")
    expires_at: datetime


class RoleChange(Body):
    role: ClubRole


# A donation's most is checked by the service, not here, so that any amount above it is
# refused alike (`donation-too-large`, saying the most); the schema still states it.
DonationAmount = Annotated[
    int,
    Field(
        strict=True,
        gt=0,
        json_schema_extra={"maximum": MAX_DONATION_MINOR},
        description="in the club's currency; above the maximum: 422 `donation-too-large`",
    ),
]


class DonationCreate(Body):
    amount_minor: DonationAmount
    payment: PaymentDetails
    message: Prose = Field(default="", max_length=280)
    anonymous: Flag = Field(default=False, description="members see 'Anonymous'")


class CardDonationCreate(Body):
    card_id: Line = Field(max_length=40, description="your gift card to give from")
    amount_minor: DonationAmount
    message: Prose = Field(default="", max_length=280)
    anonymous: Flag = Field(default=False, description="members see 'Anonymous'")


class DonationPublic(BaseModel):
    id: str
    club_id: str
    amount: MoneyPublic
    donor: str = Field(description="the donor's display name in the club, or 'Anonymous'")
    message: str
    created_at: datetime
    refunded_at: datetime | None = Field(description="when it was given back, if it was")


class DonationReceipt(DonationPublic):
    """Your own donation: the receipt, with the payment's reference or the gift card."""

    club_name: str
    anonymous: bool = Field(description="the club's members see 'Anonymous'; you see your name")
    payment_reference: str = Field(description="the gateway's; empty when from a gift card")
    gift_card_id: str | None = Field(description="the gift card it came from, if one")


class CardDonationsSetting(Body):
    allowed: Flag = Field(description="whether this business's gift cards may be donated")


class CardDonationsPublic(CardDonationsSetting):
    business_id: str


class ClubCardPurchase(Body):
    business_id: Line = Field(max_length=40)
    amount_minor: int = Field(
        strict=True, gt=0, le=10_000_000, description="in the club's currency"
    )


class ClubVoucherPurchase(Body):
    deal_id: Line = Field(max_length=40)


class HandOver(Body):
    member_id: Line = Field(max_length=40, description="a member's user id (the roster)")


class HoldingPublic(BaseModel):
    """A gift card or voucher the club bought, or a prize card it won: held, or handed to a
    member."""

    id: str
    kind: HoldingKind
    item_id: str = Field(description="the gift card's or voucher's id")
    business_id: str
    paid: MoneyPublic = Field(description="what the fund paid (0 for a prize)")
    bought_by: str | None = Field(
        description="the display name of the organiser who bought it; null for a prize card "
        "(no one bought it: the contest's organiser paid for it)"
    )
    bought_at: datetime
    won_in: str | None = Field(
        default=None, description="a prize card: the contest the club won it in"
    )
    handed_to: str | None = Field(description="the member's display name, once handed over")
    handed_at: datetime | None


class MovementPublic(BaseModel):
    """One line of the club's history."""

    kind: MovementKind
    amount: MoneyPublic = Field(description="+ into the fund, - out of it, 0 for a hand-over")
    by: str | None = Field(
        description="who: a display name, or 'Anonymous'; null for a prize won (no one acted)"
    )
    about: str = Field(description="the donation's or the holding's id")
    memo: str
    at: datetime


class ClubHistory(Page[MovementPublic]):
    """One page of a club's history, newest first."""


class ClubFunds(Page[DonationPublic]):
    """The club's fund and one page of its donations, newest first."""

    club_id: str
    balance: MoneyPublic = Field(description="what the club's fund holds")


class MemberPage(Page[MemberPublic]):
    """One page of a club's members, longest there first."""


class MemberManagedPage(Page[MemberManaged]):
    """One page of a club's members or requests to join, oldest first, for its organisers."""


class MyMembershipPage(Page[MyMembership]):
    """One page of your clubs and requests to join, by club name."""


class DonationReceiptPage(Page[DonationReceipt]):
    """One page of your donations, newest first."""


class HoldingPage(Page[HoldingPublic]):
    """One page of what a club bought, newest first."""
