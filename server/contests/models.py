"""Contests: the contest and its rules, who entered, the points organisers record, and the
results the job stores once at the end."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, BigId, UtcDateTime, str_enum, utcnow
from ..ids import ID_LENGTH, make_id

__all__ = [
    "Contest",
    "ContestEntry",
    "ContestPoints",
    "ContestResult",
    "ContestStatus",
    "EntrantKind",
    "Entrants",
    "Measure",
]


class Entrants(enum.StrEnum):
    CUSTOMERS = "customers"
    CLUBS = "clubs"
    BOTH = "both"


class EntrantKind(enum.StrEnum):
    CUSTOMER = "customer"
    CLUB = "club"


class Measure(enum.StrEnum):
    DONATED = "donated"  # money given to clubs (a club: money it received), minor units
    REDEEMED = "redeemed"  # spent from gift cards at the participating businesses, minor units
    BUSINESSES = "businesses"  # distinct participating businesses where a card was spent
    POINTS = "points"  # what the organisers record (books read…)


class ContestStatus(enum.StrEnum):
    OPEN = "open"  # taking entries until it ends; the leaderboard is live
    FINISHED = "finished"  # results stored, prizes paid, everyone told


class Contest(Base):
    """A contest run by a business (`business_id`) or by the platform (`business_id` None).
    Prizes are gift cards of `prize_business_id` (the organiser's own business, or one the
    platform names), `prizes_minor[n]` for place n + 1, paid by the organiser."""

    __tablename__ = "contests"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=make_id)
    business_id: Mapped[str | None] = mapped_column(
        ForeignKey("businesses.id"), index=True, default=None
    )
    created_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime())
    entrants: Mapped[Entrants] = mapped_column(str_enum(Entrants, 12))
    measure: Mapped[Measure] = mapped_column(str_enum(Measure, 12))
    # The businesses whose cards count (redeemed, businesses): ids, in the order given.
    participating: Mapped[list[Any]] = mapped_column(JSON, default=list)
    prize_business_id: Mapped[str] = mapped_column(ForeignKey("businesses.id"))
    currency: Mapped[str] = mapped_column(String(3))
    prizes_minor: Mapped[list[Any]] = mapped_column(JSON, default=list)
    status: Mapped[ContestStatus] = mapped_column(
        str_enum(ContestStatus, 12), default=ContestStatus.OPEN
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)

    __table_args__ = (Index("ix_contests_status_ends_at", "status", "ends_at"),)


class ContestEntry(Base):
    """A customer who entered, or a club its organiser entered. `roster` is set when the
    results are computed: the club's members whose cards counted (kept, so the results can
    be rebuilt however the club changes after)."""

    __tablename__ = "contest_entries"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=make_id)
    contest_id: Mapped[str] = mapped_column(ForeignKey("contests.id"), index=True)
    kind: Mapped[EntrantKind] = mapped_column(str_enum(EntrantKind, 10))
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)
    club_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), default=None)
    entered_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    display_name: Mapped[str] = mapped_column(String(120))  # all the public ever sees
    entered_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    roster: Mapped[list[Any] | None] = mapped_column(JSON, default=None)

    __table_args__ = (
        UniqueConstraint("contest_id", "user_id", name="uq_contest_entries_contest_user"),
        UniqueConstraint("contest_id", "club_id", name="uq_contest_entries_contest_club"),
    )


class ContestPoints(Base):
    """Points an organiser recorded for an entry (negative: a correction)."""

    __tablename__ = "contest_points"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    contest_id: Mapped[str] = mapped_column(ForeignKey("contests.id"), index=True)
    entry_id: Mapped[str] = mapped_column(ForeignKey("contest_entries.id"))
    points: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(String(200), default="")
    recorded_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class ContestResult(Base):
    """One entry's final standing, written once by the job that finishes the contest."""

    __tablename__ = "contest_results"

    contest_id: Mapped[str] = mapped_column(ForeignKey("contests.id"), primary_key=True)
    place: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[str] = mapped_column(ForeignKey("contest_entries.id"), unique=True)
    score: Mapped[int] = mapped_column(BigInteger)
    reached_at: Mapped[datetime] = mapped_column(UtcDateTime())
    prize_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    card_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), default=None)
