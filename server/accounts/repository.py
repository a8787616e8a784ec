"""All database access for accounts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..db import rowcount
from ..directory.models import Business, StaffMember
from .models import RefreshToken, Role, User


def find_user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.lower()))


def add_user(session: Session, email: str, password_hash: str, role: Role) -> User:
    user = User(email=email.lower(), password_hash=password_hash, role=role)
    session.add(user)
    session.flush()
    return user


def add_staff(session: Session, user: User, business_id: str) -> None:
    session.add(StaffMember(user_id=user.id, business_id=business_id))


def business_ids_of(session: Session, user: User) -> list[str]:
    """The businesses a user owns or works for."""
    if user.role is Role.VENDOR_OWNER:
        query = select(Business.id).where(Business.owner_id == user.id).order_by(Business.name)
        return list(session.scalars(query))
    if user.role is Role.VENDOR_STAFF:
        return list(
            session.scalars(select(StaffMember.business_id).where(StaffMember.user_id == user.id))
        )
    return []


def add_refresh_token(
    session: Session, user: User, token_hash: str, expires: datetime, family_id: str
) -> None:
    session.add(
        RefreshToken(
            user_id=user.id, token_hash=token_hash, expires_at=expires, family_id=family_id
        )
    )


@dataclass(frozen=True)
class RefreshUse:
    """What presenting a refresh token came to: its user when it was live (now used), and
    its family either way; `reused` when it had already been used or revoked."""

    user: User | None
    family_id: str | None
    reused: bool


def take_refresh_token(session: Session, token_hash: str, now: datetime) -> RefreshUse:
    """Revoke a live refresh token and return its user. The conditional update makes a
    token usable once, even under races."""
    row = session.scalar(select(RefreshToken).where(RefreshToken.token_hash == token_hash))
    if row is None:
        return RefreshUse(None, None, reused=False)
    was_revoked = row.revoked_at is not None
    taken = rowcount(
        session.execute(
            update(RefreshToken)
            .where(
                RefreshToken.id == row.id,
                RefreshToken.revoked_at.is_(None),
                RefreshToken.expires_at > now,
            )
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )
    )
    if taken != 1:
        # Lost a race for it, or used before: either way a second use of one token.
        reused = was_revoked or row.expires_at > now
        return RefreshUse(None, row.family_id, reused=reused)
    return RefreshUse(session.get(User, row.user_id), row.family_id, reused=False)


def revoke_family(session: Session, family_id: str, now: datetime) -> None:
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )


def revoke_user_families(session: Session, user_id: str, now: datetime) -> list[str]:
    """End every session of a user; the families that were still live."""
    families = list(
        session.scalars(
            select(RefreshToken.family_id)
            .where(
                RefreshToken.user_id == user_id,
                RefreshToken.revoked_at.is_(None),
                RefreshToken.expires_at > now,
            )
            .distinct()
        )
    )
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    return families
