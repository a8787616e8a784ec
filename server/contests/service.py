"""Contests: creating one (a business for itself, or the platform), entering (a customer;
a club by its organiser), points organisers record, the live leaderboard and an entry's own
page. The results at the end are `results`'s. docs/community.md, "Contests", states the
rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..accounts.models import Role, User
from ..community import service as clubs
from ..community.donations import REFUND_WINDOW
from ..community.models import ClubMember, ClubRole, Membership
from ..directory.models import Business, StaffMember
from ..errors import BusinessNotFound, FieldInvalid
from .errors import (
    ContestClosed,
    ContestNotFound,
    ContestRulesInvalid,
    EntryNotFound,
    NotByPoints,
    NotContestOrganiser,
    NotEntrant,
    ParticipatingBusinessNotFound,
    WrongEntrant,
)
from .models import (
    Contest,
    ContestEntry,
    ContestPoints,
    ContestResult,
    ContestStatus,
    EntrantKind,
    Entrants,
    Measure,
)
from .scoring import Standing, standings

__all__ = [
    "MAX_PLACES",
    "Organiser",
    "Placed",
    "Rules",
    "contest",
    "contests",
    "create",
    "current_roster",
    "enter",
    "entries",
    "entry_page",
    "leaderboard",
    "record_points",
    "require_organiser",
    "results_at",
]

MAX_PLACES = 10  # prizes for at most this many places


def results_at(contest: Contest) -> datetime:
    """When the jobs draw `contest`'s results and pay its prizes (`results.finish_due`): at
    its end; a `donated` one `REFUND_WINDOW` after, once none of its donations can be
    given back."""
    if contest.measure == Measure.DONATED:
        return contest.ends_at + REFUND_WINDOW
    return contest.ends_at


CARD_MEASURES = frozenset({Measure.REDEEMED, Measure.BUSINESSES})
OPEN_TO = {
    EntrantKind.CUSTOMER: frozenset({Entrants.CUSTOMERS, Entrants.BOTH}),
    EntrantKind.CLUB: frozenset({Entrants.CLUBS, Entrants.BOTH}),
}


@dataclass(frozen=True)
class Rules:
    title: str
    description: str
    starts_at: datetime
    ends_at: datetime
    entrants: Entrants
    measure: Measure
    participating: list[str]  # businesses whose cards count (redeemed, businesses)
    prizes_minor: list[int]  # place 1, 2, …
    prize_business_id: str | None  # the platform's contests: whose gift cards the prizes are


def contest(session: Session, contest_id: str) -> Contest:
    found = session.get(Contest, contest_id)
    if found is None:
        raise ContestNotFound(f"There is no contest {contest_id!r}.")
    return found


def contests(
    session: Session, business_id: str | None, offset: int, limit: int
) -> tuple[list[Contest], int]:
    """Contests, the latest to end first; with `business_id`, that business's only."""
    query = select(Contest)
    if business_id is not None:
        query = query.where(Contest.business_id == business_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = session.scalars(
        query.order_by(Contest.ends_at.desc(), Contest.id).offset(offset).limit(limit)
    )
    return list(page), total


def _business(session: Session, business_id: str) -> Business:
    found = session.get(Business, business_id)
    if found is None:
        raise BusinessNotFound(f"There is no business {business_id!r}.")
    return found


def create(
    session: Session,
    organiser: User,
    business: Business | None,
    rules: Rules,
    now: datetime,
    max_prize_minor: int,
) -> Contest:
    """A new contest, run by `business` (its owner, or an admin, checked by the caller) or,
    with None, by the platform. A prize is a gift card: at most `max_prize_minor` (the most
    a card may hold)."""
    if rules.ends_at <= rules.starts_at or rules.ends_at <= now:
        raise ContestRulesInvalid("A contest ends after it starts, and in the future.")
    prizes = rules.prizes_minor
    if len(prizes) > MAX_PLACES:
        raise ContestRulesInvalid(
            f"A contest has prizes for at most {MAX_PLACES} places; this one names {len(prizes)}."
        )
    if any(not 0 < p <= max_prize_minor for p in prizes):
        raise ContestRulesInvalid(
            f"Give each prize as an amount above zero and at most {max_prize_minor} (the most "
            "a gift card may hold), in minor units."
        )
    if business is not None:
        prize_business = business
    elif rules.prize_business_id is not None:
        prize_business = _business(session, rules.prize_business_id)
    else:
        raise ContestRulesInvalid(
            "Name the business whose gift cards the prizes are (prize_business_id)."
        )
    participating = list(dict.fromkeys(rules.participating))
    if not participating and business is not None:
        participating = [business.id]
    if rules.measure in CARD_MEASURES and not participating:
        raise ContestRulesInvalid(
            "Name the participating businesses whose gift cards count (participating)."
        )
    for counted in _participating(session, organiser, business, participating):
        if counted.currency != prize_business.currency:
            raise ContestRulesInvalid(
                f"Business {counted.id!r} sells in another currency than the prizes' "
                f"({prize_business.currency}): a contest counts one currency."
            )
    made = Contest(
        business_id=None if business is None else business.id,
        created_by=organiser.id,
        title=rules.title,
        description=rules.description,
        starts_at=rules.starts_at,
        ends_at=rules.ends_at,
        entrants=rules.entrants,
        measure=rules.measure,
        participating=participating,
        prize_business_id=prize_business.id,
        currency=prize_business.currency,
        prizes_minor=list(rules.prizes_minor),
    )
    session.add(made)
    session.flush()
    return made


def _participating(
    session: Session, organiser: User, business: Business | None, business_ids: list[str]
) -> list[Business]:
    """The businesses a contest counts. A business's contest counts only its owner's
    businesses that the organiser runs (an admin: any of the owner's); the platform's, any.
    ParticipatingBusinessNotFound names every other one, as if there were none."""
    found = {
        b.id: b for b in session.scalars(select(Business).where(Business.id.in_(business_ids)))
    }

    def counts(candidate: Business) -> bool:
        if business is None:
            return True
        if candidate.owner_id != business.owner_id:
            return False
        return organiser.role is Role.ADMIN or _runs(session, candidate.id, organiser)

    refused = [b for b in business_ids if b not in found or not counts(found[b])]
    if refused:
        named = ", ".join(refused)
        detail = (
            f"There is no business {named} (participating)."
            if business is None
            else f"No business {named} is among those this contest may count: a business's "
            "contest counts only the businesses its organiser owns or manages (participating)."
        )
        raise ParticipatingBusinessNotFound(detail, business_ids=refused)
    return [found[b] for b in business_ids]


@dataclass(frozen=True)
class Organiser:
    """A contest and its organiser, as `require_organiser` found them: what a service acting
    for the organiser takes, so that it need not check again."""

    contest: Contest
    user: User


def require_organiser(session: Session, contest: Contest, user: User) -> Organiser:
    """The contest's organiser: its business's owner or one of its managers, or an admin
    (the platform's contests are the admins')."""
    if user.role is Role.ADMIN:
        return Organiser(contest, user)
    if contest.business_id is not None and _runs(session, contest.business_id, user):
        return Organiser(contest, user)
    who = "an admin" if contest.business_id is None else "the owner or a manager of its business"
    raise NotContestOrganiser(
        f"Only the organiser of {contest.title!r} may do this: ask {who} to do it."
    )


def _runs(session: Session, business_id: str, user: User) -> bool:
    """Whether `user` owns the business or manages it (as they manage its deals)."""
    if user.role is Role.VENDOR_OWNER:
        business = session.get(Business, business_id)
        return business is not None and business.owner_id == user.id
    if user.role is Role.VENDOR_STAFF:
        role = session.scalar(
            select(StaffMember.role).where(
                StaffMember.business_id == business_id, StaffMember.user_id == user.id
            )
        )
        return role is not None and role.manages
    return False


def _still_open(contest: Contest, now: datetime) -> None:
    if contest.status is not ContestStatus.OPEN or contest.ends_at <= now:
        raise ContestClosed(f"{contest.title!r} has ended: its results are on its leaderboard.")


def enter(
    session: Session,
    contest: Contest,
    user: User,
    *,
    club_id: str | None,
    display_name: str | None,
    now: datetime,
) -> ContestEntry:
    """Enter yourself (a customer), or your club (its founder or an organiser). Entering
    again changes nothing."""
    _still_open(contest, now)
    kind = EntrantKind.CUSTOMER if club_id is None else EntrantKind.CLUB
    if contest.entrants not in OPEN_TO[kind]:
        raise WrongEntrant(f"{contest.title!r} is between {contest.entrants.value} only.")
    if club_id is None:
        if user.role is not Role.CUSTOMER:
            raise WrongEntrant("Customers enter contests: sign in with a customer account.")
        if not display_name:
            raise FieldInvalid(
                "body.display_name", "Give the display_name the leaderboard shows for you."
            )
        existing = session.scalar(
            select(ContestEntry).where(
                ContestEntry.contest_id == contest.id, ContestEntry.user_id == user.id
            )
        )
        entry = ContestEntry(
            contest_id=contest.id,
            kind=kind,
            user_id=user.id,
            entered_by=user.id,
            display_name=display_name,
            entered_at=now,
        )
    else:
        club = clubs.club(session, club_id)
        clubs.require_manager(session, club, user.id)
        existing = session.scalar(
            select(ContestEntry).where(
                ContestEntry.contest_id == contest.id, ContestEntry.club_id == club.id
            )
        )
        entry = ContestEntry(
            contest_id=contest.id,
            kind=kind,
            club_id=club.id,
            entered_by=user.id,
            display_name=club.name,
            entered_at=now,
        )
    if existing is not None:
        return existing
    try:
        with session.begin_nested():
            session.add(entry)
    except IntegrityError:  # the same entrant's other request made it a moment ago
        return enter(session, contest, user, club_id=club_id, display_name=display_name, now=now)
    return entry


def _entry(session: Session, contest: Contest, entry_id: str) -> ContestEntry:
    found = session.get(ContestEntry, entry_id)
    if found is None or found.contest_id != contest.id:
        raise EntryNotFound(f"{contest.title!r} has no entry {entry_id!r}.")
    return found


def record_points(
    session: Session, organiser: Organiser, entry_id: str, points: int, note: str, now: datetime
) -> ContestPoints:
    """Points for an entry (negative ones correct a mistake), by the organiser (as
    `require_organiser` found them), until the contest ends."""
    contest, user = organiser.contest, organiser.user
    if contest.measure is not Measure.POINTS:
        raise NotByPoints(
            f"{contest.title!r} is measured by {contest.measure.value}, which the ledger "
            "counts: points are recorded only in a contest measured by points."
        )
    _still_open(contest, now)
    recorded = ContestPoints(
        contest_id=contest.id,
        entry_id=_entry(session, contest, entry_id).id,
        points=points,
        note=note,
        recorded_by=user.id,
        recorded_at=now,
    )
    session.add(recorded)
    session.flush()
    return recorded


def entries(session: Session, contest: Contest) -> list[ContestEntry]:
    return list(
        session.scalars(
            select(ContestEntry)
            .where(ContestEntry.contest_id == contest.id)
            .order_by(ContestEntry.entered_at, ContestEntry.id)
        )
    )


def current_roster(session: Session, entry: ContestEntry) -> list[str]:
    """A club entry's members now (a frozen `roster` once the results are in)."""
    if entry.roster is not None:
        return [str(user_id) for user_id in entry.roster]
    if entry.club_id is None:
        return []
    return sorted(m.user_id for m in clubs.every_member(session, entry.club_id, Membership.ACTIVE))


@dataclass(frozen=True)
class Placed:
    place: int
    entry: ContestEntry
    score: int
    reached_at: datetime
    prize_minor: int  # 0: no prize (or, while open, none won yet)
    card_id: str | None  # the prize card, once paid


def _live(session: Session, contest: Contest) -> list[Placed]:
    found = entries(session, contest)
    by_id = {entry.id: entry for entry in found}
    ranked: list[Standing] = standings(
        session, contest, found, lambda entry: current_roster(session, entry)
    )
    return [
        Placed(place, by_id[s.entry_id], s.score, s.reached_at, 0, None)
        for place, s in enumerate(ranked, start=1)
    ]


def _final(session: Session, contest: Contest) -> list[Placed]:
    rows = session.execute(
        select(ContestResult, ContestEntry)
        .join(ContestEntry, ContestEntry.id == ContestResult.entry_id)
        .where(ContestResult.contest_id == contest.id)
        .order_by(ContestResult.place)
    ).all()
    return [Placed(r.place, e, r.score, r.reached_at, r.prize_minor, r.card_id) for r, e in rows]


def leaderboard(
    session: Session, contest: Contest, offset: int, limit: int
) -> tuple[list[Placed], int]:
    """The standings, a page of them: live while the contest runs, the stored results once
    it has finished."""
    placed = _final(session, contest) if contest.status is ContestStatus.FINISHED else None
    if placed is None:
        placed = _live(session, contest)
    return placed[offset : offset + limit], len(placed)


def _may_see(session: Session, contest: Contest, entry: ContestEntry, user: User) -> bool:
    if entry.kind is EntrantKind.CUSTOMER:
        if entry.user_id == user.id:
            return True
    elif entry.club_id is not None:
        member = session.get(ClubMember, (entry.club_id, user.id))
        if member is not None and member.status is Membership.ACTIVE:
            return True
    try:
        require_organiser(session, contest, user)
    except NotContestOrganiser:
        return False
    return True


def entry_page(session: Session, contest: Contest, entry_id: str, user: User) -> Placed:
    """An entry's own standing and prize card: for its entrant (the customer, the club's
    members) and the organiser. The public sees the leaderboard."""
    entry = _entry(session, contest, entry_id)
    if not _may_see(session, contest, entry, user):
        raise NotEntrant(
            "This entry's page is its entrant's: the leaderboard is public "
            f"(GET /contests/{contest.id}/leaderboard)."
        )
    placed, _ = leaderboard(session, contest, 0, 1_000_000)
    return next(p for p in placed if p.entry.id == entry.id)


def club_managers(session: Session, club_id: str) -> list[str]:
    """Who is told of a club's result: its founder and organisers."""
    return [
        m.user_id
        for m in clubs.every_member(session, club_id, Membership.ACTIVE)
        if m.role in (ClubRole.FOUNDER, ClubRole.ORGANISER)
    ]
