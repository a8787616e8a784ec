from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, Field

from sync.wire import Line, Name, Prose

from ..directory.schemas import MoneyPublic
from ..pages import Page
from ..patches import Body
from .models import ContestStatus, EntrantKind, Entrants, Measure
from .service import MAX_PLACES


class ContestCreate(Body):
    title: Name = Field(max_length=120)
    description: Prose = Field(default="", max_length=2000)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    entrants: Entrants = Field(description="who may enter: customers, clubs or both")
    measure: Measure = Field(
        description="donated, redeemed (at the participating businesses), businesses "
        "(distinct participating businesses visited) or points (recorded by the organiser)"
    )
    participating: list[Annotated[Line, Field(max_length=40)]] = Field(
        default_factory=list,
        max_length=50,
        description="businesses whose gift cards count (default: the organising business)",
    )
    # The range is the rules' (422 contest-rules-invalid either side of it), not the schema's.
    prizes_minor: list[int] = Field(
        default_factory=list,
        description=f"each place's prize card, place 1 first, in minor units: at most "
        f"{MAX_PLACES} places, each above 0 and at most what a gift card may hold",
    )


class PlatformContestCreate(ContestCreate):
    prize_business_id: Line | None = Field(
        default=None, max_length=40, description="whose gift cards the prizes are"
    )


class ContestPublic(BaseModel):
    id: str
    business_id: str | None = Field(description="the organising business; null: the platform")
    title: str
    description: str
    starts_at: datetime
    ends_at: datetime
    entrants: Entrants
    measure: Measure
    participating: list[str]
    prize_business_id: str
    prizes: list[MoneyPublic]
    status: ContestStatus
    results_at: datetime = Field(
        description="when the results are drawn and prizes paid: its end; for `donated`, "
        "14 days after (refunds), its status `open` and its leaderboard live until then"
    )
    entries: int


class ContestList(Page[ContestPublic]):
    """One page of contests, the latest to end first."""


class EntryCreate(Body):
    display_name: Name | None = Field(
        default=None, max_length=60, description="entering yourself: how the leaderboard shows you"
    )
    club_id: Line | None = Field(
        default=None, max_length=40, description="entering a club you organise"
    )


class EntryPublic(BaseModel):
    id: str
    contest_id: str
    kind: EntrantKind
    name: str
    club_id: str | None
    entered_at: datetime


class Standing(BaseModel):
    place: int
    entry_id: str
    kind: EntrantKind
    name: str
    score: int
    reached_at: datetime = Field(
        description="when the entrant got to this score: a tie goes to the first there"
    )
    prize: MoneyPublic | None = Field(description="once the contest has finished")


class Leaderboard(Page[Standing]):
    """A page of the standings: live while the contest runs, final once it has finished."""

    status: ContestStatus = ContestStatus.OPEN


class EntryPage(Standing):
    """An entry's own page: its standing, and its prize card once paid."""

    card_id: str | None


class PointsCreate(Body):
    entry_id: Line = Field(max_length=40)
    points: int = Field(strict=True, ge=-100_000, le=100_000, description="negative: a correction")
    note: Line = Field(default="", max_length=200)


class PointsRecorded(BaseModel):
    id: int
    entry_id: str
    points: int
    note: str
    recorded_at: datetime
