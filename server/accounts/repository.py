"""All database access for accounts."""

from __future__ import annotations

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


def add_refresh_token(session: Session, user: User, token_hash: str, expires: datetime) -> None:
    session.add(RefreshToken(user_id=user.id, token_hash=token_hash, expires_at=expires))


def take_refresh_token(session: Session, token_hash: str, now: datetime) -> User | None:
    """Revoke a live refresh token and return its user; None if it is unknown, expired or
    already used. The conditional update makes a token usable once, even under races."""
    row = session.scalar(select(RefreshToken).where(RefreshToken.token_hash == token_hash))
    if row is None:
        return None
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
        return None
    return session.get(User, row.user_id)
