"""A club's history: every movement of its fund and of what it holds, one line each,
written in the transaction of the movement it tells of, read newest first by members."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sync.money import Money

from .models import Club, ClubMovement, MovementKind

__all__ = ["page", "record"]


def record(
    session: Session,
    club: Club,
    kind: MovementKind,
    amount: Money,
    actor_id: str,
    subject_id: str,
    memo: str,
    *,
    anonymous: bool = False,
) -> None:
    """One line: `amount` signed (+ into the fund, - out of it, 0 for a hand-over)."""
    session.add(
        ClubMovement(
            club_id=club.id,
            kind=kind,
            amount_minor=amount.minor,
            currency=amount.currency.code,
            actor_id=actor_id,
            anonymous=anonymous,
            subject_id=subject_id,
            memo=memo[:200],
        )
    )
    session.flush()


def page(session: Session, club: Club, offset: int, limit: int) -> tuple[list[ClubMovement], int]:
    """Newest first: one page, and how many lines there are in all."""
    where = ClubMovement.club_id == club.id
    total = session.scalar(select(func.count()).select_from(ClubMovement).where(where)) or 0
    found = session.scalars(
        select(ClubMovement)
        .where(where)
        .order_by(ClubMovement.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return list(found), total
