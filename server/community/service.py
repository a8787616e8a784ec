"""Clubs: founding, the public directory, joining (open, by approval, by invitation),
organisers' powers, leaving. docs/community.md states the rules."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sync.money import UnknownCurrencyError, currency

from ..db import count_of, page_of, utcnow
from ..directory.models import Business
from ..directory.repository import Near, distance_km, nearness
from ..errors import (
    BusinessNotFound,
    ClubClosed,
    ClubNotFound,
    DisplayNameTaken,
    InvalidInvitation,
    MemberNotFound,
    NotAMember,
    NotOrganiser,
    UnknownCurrency,
)
from ..folding import like_escaped, words
from ..pages import PageRequest
from ..wallet.models import LedgerAccount
from .models import (
    Club,
    ClubHolding,
    ClubInvitation,
    ClubMember,
    ClubMovement,
    ClubRole,
    Donation,
    JoinPolicy,
    Membership,
)

__all__ = [
    "INVITATION_LIFETIME",
    "InClub",
    "Listed",
    "approve",
    "club",
    "found_club",
    "fund_key",
    "invite",
    "join",
    "leave",
    "members",
    "membership",
    "my_clubs",
    "remove",
    "require_founder",
    "require_manager",
    "require_member",
    "search",
    "set_role",
]

INVITATION_LIFETIME = timedelta(days=14)
MANAGERS = frozenset({ClubRole.FOUNDER, ClubRole.ORGANISER})


def _hash(code: str) -> str:
    return hashlib.sha256(code.strip().encode()).hexdigest()


def club(session: Session, club_id: str) -> Club:
    found = session.get(Club, club_id)
    if found is None or found.closed_at is not None:
        raise ClubNotFound(f"There is no club {club_id!r}.")
    return found


def membership(session: Session, club_id: str, user_id: str) -> ClubMember | None:
    return session.get(ClubMember, (club_id, user_id))


@dataclass(frozen=True)
class InClub:
    """A club and the caller's membership of it (`me`), as a `require_*` check found it:
    what a service acting for an organiser or the founder takes, so that it need not
    check again."""

    club: Club
    me: ClubMember


def require_manager(session: Session, club: Club, user_id: str) -> InClub:
    me = membership(session, club.id, user_id)
    if me is None or me.status is not Membership.ACTIVE or me.role not in MANAGERS:
        raise NotOrganiser(
            f"Only the organisers of {club.name} may do this: ask one of them to do it."
        )
    return InClub(club, me)


def _currency(code: str) -> str:
    try:
        return currency(code).code
    except UnknownCurrencyError as exc:
        raise UnknownCurrency(str(exc)) from None


def require_founder(session: Session, club: Club, user_id: str) -> InClub:
    me = membership(session, club.id, user_id)
    if me is None or me.role is not ClubRole.FOUNDER:
        raise NotOrganiser(
            f"Only the founder of {club.name} names organisers and members: ask the founder "
            "to make this change."
        )
    return InClub(club, me)


def require_member(session: Session, club: Club, user_id: str) -> InClub:
    me = membership(session, club.id, user_id)
    if me is None or me.status is not Membership.ACTIVE:
        raise NotAMember(f"Only members of {club.name} see this: join the club first.")
    return InClub(club, me)


def found_club(
    session: Session,
    founder_id: str,
    *,
    name: str,
    description: str,
    place: tuple[float, float] | None,
    home_business_id: str | None,
    join_policy: JoinPolicy,
    display_name: str,
    currency_code: str = "GBP",
) -> Club:
    if home_business_id is not None and session.get(Business, home_business_id) is None:
        raise BusinessNotFound(f"There is no business {home_business_id!r} to be the club's home.")
    latitude, longitude = place if place else (None, None)
    founded = Club(
        name=name,
        description=description,
        latitude=latitude,
        longitude=longitude,
        home_business_id=home_business_id,
        join_policy=join_policy,
        currency=_currency(currency_code),
    )
    session.add(founded)
    session.flush()
    session.add(
        ClubMember(
            club_id=founded.id,
            user_id=founder_id,
            role=ClubRole.FOUNDER,
            status=Membership.ACTIVE,
            display_name=display_name,
        )
    )
    session.flush()
    return founded


@dataclass(frozen=True)
class Listed:
    club: Club
    members: int
    distance_km: float | None


def _counts(session: Session, club_ids: list[str]) -> dict[str, int]:
    rows = session.execute(
        select(ClubMember.club_id, func.count())
        .where(ClubMember.club_id.in_(club_ids), ClubMember.status == Membership.ACTIVE)
        .group_by(ClubMember.club_id)
    )
    return {str(club_id): int(count) for club_id, count in rows.all()}


def search(
    session: Session, text: str | None, near: Near | None, offset: int, limit: int
) -> tuple[list[Listed], int]:
    """Clubs whose name or description holds every word of `text` (case and accents aside);
    with `near`, those within its radius, nearest first; else by name."""
    query = select(Club).where(Club.closed_at.is_(None))
    for word in words(text or ""):
        query = query.where(Club.search_text.like(f"%{like_escaped(word)}%", escape="\\"))
    if near is None:
        query = query.order_by(Club.name, Club.id)
    else:
        within, nearer = nearness(Club.latitude, Club.longitude, near)
        query = query.where(within).order_by(nearer, Club.name, Club.id)
    page, total = page_of(session, query, PageRequest(offset, limit))
    counts = _counts(session, [c.id for c in page])
    return [Listed(c, counts.get(c.id, 0), _away(c, near)) for c in page], total


def _away(club: Club, near: Near | None) -> float | None:
    if near is None or club.latitude is None or club.longitude is None:
        return None
    return distance_km(near.latitude, near.longitude, club.latitude, club.longitude)


def _members(club_id: str, status: Membership) -> Select[ClubMember]:
    return select(ClubMember).where(ClubMember.club_id == club_id, ClubMember.status == status)


def _longest_first(club_id: str, status: Membership) -> Select[ClubMember]:
    return _members(club_id, status).order_by(ClubMember.joined_at, ClubMember.user_id)


def members(
    session: Session, club_id: str, status: Membership, asked: PageRequest
) -> tuple[list[ClubMember], int]:
    """One page of the club's members in `status`, longest there first, and how many."""
    return page_of(session, _longest_first(club_id, status), asked)


def every_member(session: Session, club_id: str, status: Membership) -> list[ClubMember]:
    """Every member of the club in `status`, longest there first: not a page to show."""
    return list(session.scalars(_longest_first(club_id, status)))


def member_count(session: Session, club_id: str) -> int:
    """How many active members the club has."""
    return count_of(session, _members(club_id, Membership.ACTIVE))


def invite(session: Session, club: Club, organiser_id: str, now: datetime) -> tuple[str, datetime]:
    """A new invitation code (shown once) and when it expires."""
    require_manager(session, club, organiser_id)
    code = secrets.token_urlsafe(9)
    expires = now + INVITATION_LIFETIME
    session.add(
        ClubInvitation(
            code_hash=_hash(code), club_id=club.id, created_by=organiser_id, expires_at=expires
        )
    )
    session.flush()
    return code, expires


def _use_invitation(session: Session, club: Club, code: str, user_id: str, now: datetime) -> None:
    invitation = session.get(ClubInvitation, _hash(code), with_for_update=True)
    if (
        invitation is None
        or invitation.club_id != club.id
        or invitation.used_by is not None
        or invitation.expires_at <= now
    ):
        raise InvalidInvitation(
            "This invitation code is not valid for this club, or was used or has expired: "
            "ask an organiser for a new one."
        )
    invitation.used_by = user_id


def _lock(session: Session, club: Club) -> None:
    """Hold the club's row until the transaction ends: two people taking one display name
    at the same moment are told one after the other (SQLite writes one at a time anyway)."""
    session.execute(select(Club.id).where(Club.id == club.id).with_for_update())


def _same_name(display_name: str) -> str:
    return display_name.strip().casefold()


def _require_free_name(session: Session, club: Club, display_name: str, user_id: str) -> None:
    """Members know each other by display name only: refuse one another active member of
    the club goes by, case and spaces aside."""
    wanted = _same_name(display_name)
    others = select(ClubMember.display_name).where(
        ClubMember.club_id == club.id,
        ClubMember.status == Membership.ACTIVE,
        ClubMember.user_id != user_id,
    )
    if any(_same_name(name) == wanted for name in session.scalars(others)):
        raise DisplayNameTaken(
            f"Another member of {club.name} goes by {display_name.strip()!r}: "
            "pick another display name."
        )


def join(
    session: Session,
    club: Club,
    user_id: str,
    display_name: str,
    code: str | None,
    now: datetime,
) -> ClubMember:
    """Join (open club, or with an invitation code) or ask to (a club that approves). Someone
    an organiser removed comes back with an invitation code only."""
    _lock(session, club)
    existing = membership(session, club.id, user_id)
    if existing is not None and existing.status is Membership.REMOVED:
        return _come_back(session, club, existing, display_name, code, now)
    if existing is not None:
        return existing  # asking again changes nothing
    if code is None and club.join_policy is JoinPolicy.INVITATION:
        raise ClubClosed(
            f"{club.name} takes members by invitation only: ask an organiser for a code."
        )
    _require_free_name(session, club, display_name, user_id)
    if code is not None:
        _use_invitation(session, club, code, user_id, now)
    requested = code is None and club.join_policy is JoinPolicy.APPROVAL
    status = Membership.REQUESTED if requested else Membership.ACTIVE
    joined = ClubMember(club_id=club.id, user_id=user_id, status=status, display_name=display_name)
    try:
        with session.begin_nested():
            session.add(joined)
    except IntegrityError:  # the same person's other request made it a moment ago
        found = membership(session, club.id, user_id)
        assert found is not None
        return found
    return joined


def _come_back(
    session: Session,
    club: Club,
    removed: ClubMember,
    display_name: str,
    code: str | None,
    now: datetime,
) -> ClubMember:
    """Someone an organiser removed joins again: with an invitation code only, as a member."""
    if code is None:
        raise ClubClosed(
            f"An organiser removed you from {club.name}: you can join again only with "
            "an invitation code from one of its organisers."
        )
    _require_free_name(session, club, display_name, removed.user_id)
    _use_invitation(session, club, code, removed.user_id, now)
    removed.status, removed.role = Membership.ACTIVE, ClubRole.MEMBER
    removed.display_name, removed.joined_at = display_name, now
    session.flush()
    return removed


def approve(session: Session, club: Club, organiser_id: str, user_id: str) -> ClubMember:
    require_manager(session, club, organiser_id)
    _lock(session, club)
    asked = membership(session, club.id, user_id)
    if asked is None or asked.status is Membership.REMOVED:
        raise MemberNotFound("That person has not asked to join this club.")
    if asked.status is Membership.REQUESTED:
        try:
            _require_free_name(session, club, asked.display_name, user_id)
        except DisplayNameTaken:
            raise DisplayNameTaken(
                f"A member of {club.name} now goes by {asked.display_name!r}: this person "
                "has to withdraw their request and ask again under another display name."
            ) from None
    asked.status = Membership.ACTIVE
    session.flush()
    return asked


def remove(session: Session, club: Club, organiser_id: str, user_id: str) -> None:
    """An organiser removes a member, or turns a request down. The founder stays; an
    organiser is removed by the founder only. A removed member stays on record as removed,
    so they cannot join again by themselves (an invitation code lets them back); a request
    turned down is gone, and may be made again."""
    me = require_manager(session, club, organiser_id).me
    them = membership(session, club.id, user_id)
    if them is None or them.status is Membership.REMOVED:
        raise MemberNotFound("That person is not a member of this club.")
    if them.role is ClubRole.FOUNDER:
        raise ClubClosed("The founder cannot be removed; the founder may hand the club on.")
    if them.role is ClubRole.ORGANISER and me.role is not ClubRole.FOUNDER:
        raise NotOrganiser("Only the founder removes an organiser: ask the founder to.")
    if them.status is Membership.REQUESTED:
        session.delete(them)
    else:
        them.status, them.role = Membership.REMOVED, ClubRole.MEMBER
    session.flush()


def set_role(session: Session, founder: InClub, user_id: str, role: ClubRole) -> ClubMember:
    """The founder (as `require_founder` found them) names organisers and members; naming
    another founder hands the club on (the old founder becomes an organiser)."""
    club, me = founder.club, founder.me
    them = membership(session, club.id, user_id)
    if them is None or them.status is not Membership.ACTIVE:
        raise MemberNotFound("That person is not a member of this club.")
    if them.user_id == me.user_id:
        raise ClubClosed("Hand the club on by naming another member founder.")
    if role is ClubRole.FOUNDER:
        me.role = ClubRole.ORGANISER
    them.role = role
    session.flush()
    return them


def leave(session: Session, club: Club, user_id: str) -> bool:
    """Leave the club (or withdraw a request). A founder with other members hands the club
    on first; a founder alone closes it. Whether the club was closed."""
    me = membership(session, club.id, user_id)
    if me is None or me.status is Membership.REMOVED:
        return False  # a removal stays: leaving does not undo it
    if me.role is ClubRole.FOUNDER:
        others = _members(club.id, Membership.ACTIVE).where(ClubMember.user_id != user_id)
        if count_of(session, others):
            raise ClubClosed("You founded this club: name another member founder before you leave.")
        session.execute(delete(ClubInvitation).where(ClubInvitation.club_id == club.id))
        if _has_money_on_record(session, club):
            _close(session, club)
        else:
            session.execute(delete(ClubMember).where(ClubMember.club_id == club.id))
            session.delete(club)
        session.flush()
        return True
    session.delete(me)
    session.flush()
    return False


def fund_key(club: Club) -> str:
    """The club's fund: its ledger account's key."""
    return f"club:{club.id}:{club.currency}"


def _has_money_on_record(session: Session, club: Club) -> bool:
    """Donations (even from before the history was kept) or purchases."""
    return any(
        session.scalar(select(column).where(club_column == club.id).limit(1)) is not None
        for column, club_column in (
            (ClubMovement.id, ClubMovement.club_id),
            (Donation.id, Donation.club_id),
        )
    )


def _close(session: Session, club: Club) -> None:
    """Close a club whose fund is empty and that holds nothing, keeping its records (its
    donors' receipts name it); else `ClubClosed` says what to do first."""
    held = session.scalar(
        select(LedgerAccount.balance_minor).where(LedgerAccount.key == fund_key(club))
    )
    waiting = session.scalar(
        select(func.count())
        .select_from(ClubHolding)
        .where(ClubHolding.club_id == club.id, ClubHolding.handed_to.is_(None))
    )
    if held or waiting:
        raise ClubClosed(
            "The club's fund still holds money or it still holds gift cards or vouchers: "
            "spend or refund the money and hand everything to members before closing it."
        )
    session.execute(delete(ClubMember).where(ClubMember.club_id == club.id))
    club.closed_at = utcnow()


def my_clubs(
    session: Session, user_id: str, asked: PageRequest
) -> tuple[list[tuple[Club, ClubMember]], int]:
    """One page of the open clubs someone belongs to or asked to join, by name, and how many."""
    query = (
        select(Club, ClubMember)
        .join(ClubMember, ClubMember.club_id == Club.id)
        .where(
            ClubMember.user_id == user_id,
            ClubMember.status != Membership.REMOVED,
            Club.closed_at.is_(None),
        )
    )
    rows = session.execute(
        query.order_by(Club.name, Club.id).offset(asked.offset).limit(asked.limit)
    )
    return [(c, m) for c, m in rows.all()], count_of(session, query)
