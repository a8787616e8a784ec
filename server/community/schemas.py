from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from sync.wire import Line, Name, Prose

from ..directory.schemas import MoneyPublic
from ..pages import Page
from ..wallet.schemas import PaymentDetails
from .models import ClubRole, JoinPolicy, Membership


class Place(BaseModel):
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)


class ClubCreate(BaseModel):
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


class ClubJoin(BaseModel):
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


class RoleChange(BaseModel):
    role: ClubRole


class DonationCreate(BaseModel):
    amount_minor: int = Field(gt=0, le=100_000, description="in the club's currency")
    payment: PaymentDetails
    message: Prose = Field(default="", max_length=280)
    anonymous: bool = Field(default=False, description="members see 'Anonymous'")


class DonationPublic(BaseModel):
    id: str
    club_id: str
    amount: MoneyPublic
    donor: str = Field(description="the donor's display name in the club, or 'Anonymous'")
    message: str
    created_at: datetime


class DonationReceipt(DonationPublic):
    """Your own donation: the receipt, with the payment's reference."""

    club_name: str
    payment_reference: str


class ClubFunds(BaseModel):
    club_id: str
    balance: MoneyPublic = Field(description="what the club's fund holds")
    donations: list[DonationPublic] = Field(description="newest first")
