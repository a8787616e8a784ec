"""Contests: creating (a business's owner, or an admin for the platform), the public list,
page and leaderboard, entering, an entry's own page, and the points organisers record."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status
from sqlalchemy import func, select

from sync.money import Money

from ..accounts.models import User
from ..db import SessionDep
from ..deps import (
    PROBLEM_RESPONSES,
    CurrentAdmin,
    CurrentUser,
    IdempotencyKey,
    ManagedBusiness,
    reply,
)
from ..directory.models import Business
from ..directory.schemas import MoneyPublic
from ..wallet.idempotency import Outcome, idempotent
from . import service
from .models import Contest, ContestEntry
from .schemas import (
    ContestCreate,
    ContestList,
    ContestPublic,
    EntryCreate,
    EntryPage,
    EntryPublic,
    Leaderboard,
    PlatformContestCreate,
    PointsCreate,
    PointsRecorded,
    Standing,
)

router = APIRouter(tags=["contests"])


def _public(session: SessionDep, contest: Contest) -> ContestPublic:
    entries = session.scalar(select(func.count()).where(ContestEntry.contest_id == contest.id))
    return ContestPublic(
        id=contest.id,
        business_id=contest.business_id,
        title=contest.title,
        description=contest.description,
        starts_at=contest.starts_at,
        ends_at=contest.ends_at,
        entrants=contest.entrants,
        measure=contest.measure,
        participating=[str(b) for b in contest.participating],
        prize_business_id=contest.prize_business_id,
        prizes=[MoneyPublic.of(Money.of(int(p), contest.currency)) for p in contest.prizes_minor],
        status=contest.status,
        results_at=service.results_at(contest),
        entries=entries or 0,
    )


def _create(
    request: Request,
    session: SessionDep,
    user: User,
    business: Business | None,
    body: ContestCreate,
    prize_business_id: str | None,
) -> ContestPublic:
    rules = service.Rules(
        title=body.title,
        description=body.description,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        entrants=body.entrants,
        measure=body.measure,
        participating=list(body.participating),
        prizes_minor=list(body.prizes_minor),
        prize_business_id=prize_business_id,
    )
    most = request.app.state.money_limits.max_card_balance_minor
    contest = service.create(session, user, business, rules, datetime.now(UTC), most)
    session.commit()
    return _public(session, contest)


@router.post(
    "/businesses/{business_id}/contests",
    status_code=status.HTTP_201_CREATED,
    summary="Run a contest, its prizes paid by the business (its owner or a manager)",
    responses=PROBLEM_RESPONSES,
)
def create_business_contest(
    business: ManagedBusiness,
    body: ContestCreate,
    request: Request,
    user: CurrentUser,
    session: SessionDep,
) -> ContestPublic:
    return _create(request, session, user, business, body, None)


@router.post(
    "/contests",
    status_code=status.HTTP_201_CREATED,
    summary="Run a contest for the platform, its prizes paid by the platform (admins)",
    responses=PROBLEM_RESPONSES,
)
def create_platform_contest(
    body: PlatformContestCreate, request: Request, user: CurrentAdmin, session: SessionDep
) -> ContestPublic:
    return _create(request, session, user, None, body, body.prize_business_id)


@router.get("/contests", summary="Contests, the latest to end first")
def list_contests(
    session: SessionDep,
    business_id: Annotated[
        str | None, Query(max_length=40, description="one business's contests")
    ] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> ContestList:
    found, total = service.contests(session, business_id, offset, limit)
    return ContestList.of([_public(session, c) for c in found], total, offset, limit)


@router.get("/contests/{contest_id}", summary="A contest's page", responses=PROBLEM_RESPONSES)
def get_contest(contest_id: str, session: SessionDep) -> ContestPublic:
    return _public(session, service.contest(session, contest_id))


def _entry(entry: ContestEntry) -> EntryPublic:
    return EntryPublic(
        id=entry.id,
        contest_id=entry.contest_id,
        kind=entry.kind,
        name=entry.display_name,
        club_id=entry.club_id,
        entered_at=entry.entered_at,
    )


@router.post(
    "/contests/{contest_id}/entries",
    summary="Enter yourself, or a club you organise (entering again changes nothing)",
    responses=PROBLEM_RESPONSES,
)
def enter(
    contest_id: str, body: EntryCreate, user: CurrentUser, session: SessionDep
) -> EntryPublic:
    contest = service.contest(session, contest_id)
    entry = service.enter(
        session,
        contest,
        user,
        club_id=body.club_id,
        display_name=body.display_name,
        now=datetime.now(UTC),
    )
    session.commit()
    return _entry(entry)


def _standing(contest: Contest, placed: service.Placed) -> Standing:
    prize = None
    if placed.prize_minor:
        prize = MoneyPublic.of(Money.of(placed.prize_minor, contest.currency))
    return Standing(
        place=placed.place,
        entry_id=placed.entry.id,
        kind=placed.entry.kind,
        name=placed.entry.display_name,
        score=placed.score,
        reached_at=placed.reached_at,
        prize=prize,
    )


@router.get(
    "/contests/{contest_id}/leaderboard",
    summary="The standings, by display name: live while it runs, final once finished",
    responses=PROBLEM_RESPONSES,
)
def leaderboard(
    contest_id: str,
    session: SessionDep,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Leaderboard:
    contest = service.contest(session, contest_id)
    placed, total = service.leaderboard(session, contest, offset, limit)
    items = [_standing(contest, p) for p in placed]
    page = Leaderboard.of(items, total, offset, limit)
    page.status = contest.status
    return page


@router.get(
    "/contests/{contest_id}/entries/{entry_id}",
    summary="An entry's own page: its standing and prize card (its entrant, the organiser)",
    responses=PROBLEM_RESPONSES,
)
def entry_page(contest_id: str, entry_id: str, user: CurrentUser, session: SessionDep) -> EntryPage:
    contest = service.contest(session, contest_id)
    placed = service.entry_page(session, contest, entry_id, user)
    return EntryPage(**_standing(contest, placed).model_dump(), card_id=placed.card_id)


def _organiser(contest_id: str, user: CurrentUser, session: SessionDep) -> service.Organiser:
    return service.require_organiser(session, service.contest(session, contest_id), user)


# The contest and its organiser, checked by a dependency (`server.deps`): FastAPI runs it
# once it has read the body, before it validates the path, query and body. The service
# takes what it found, and does not check again.
AsOrganiser = Annotated[service.Organiser, Depends(_organiser)]


@router.post(
    "/contests/{contest_id}/points",
    status_code=status.HTTP_201_CREATED,
    response_model=PointsRecorded,
    summary="Record points for an entry (the organiser; contests measured by points)",
    responses=PROBLEM_RESPONSES,
)
def record_points(
    organiser: AsOrganiser,
    body: PointsCreate,
    request: Request,
    session: SessionDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    user = organiser.user

    def operation() -> Outcome:
        recorded = service.record_points(
            session, organiser, body.entry_id, body.points, body.note, datetime.now(UTC)
        )
        answer = PointsRecorded(
            id=recorded.id,
            entry_id=recorded.entry_id,
            points=recorded.points,
            note=recorded.note,
            recorded_at=recorded.recorded_at,
        )
        return 201, answer.model_dump(mode="json")

    request_body = {"path": request.url.path, **body.model_dump()}
    return reply(idempotent(session, user.id, idempotency_key, request_body, operation))
