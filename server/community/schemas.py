from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from sync.wire import Line, Name, Prose

from ..pages import Page
from .models import ClubRole, JoinPolicy, Membership


class Place(BaseModel):
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)


class ClubCreate(BaseModel):
    name: Name = Field(max_length=120)
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
