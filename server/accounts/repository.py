"""All database access for accounts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from ..db import rowcount
from ..directory.models import Business, StaffMember
from ..fraud.models import ClientDevice, SignInNotice
from .models import (
    AccountCode,
    AccountSession,
    CodePurpose,
    RecoveryCode,
    RefreshToken,
    RevokedDevice,
    Role,
    User,
)


def find_user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.lower()))


def add_user(session: Session, email: str, password_hash: str, role: Role) -> User:
    user = User(email=email.lower(), password_hash=password_hash, role=role)
    session.add(user)
    session.flush()
    return user


def add_staff(session: Session, user: User, business_id: str) -> None:
    session.add(StaffMember(user_id=user.id, business_id=business_id))


def staff_business_id(session: Session, user: User) -> str | None:
    """The business a staff account works for; None when it works for none (any more)."""
    return session.scalar(select(StaffMember.business_id).where(StaffMember.user_id == user.id))


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
    session.execute(
        update(AccountSession)
        .where(AccountSession.id == family_id, AccountSession.ended_at.is_(None))
        .values(ended_at=now)
        .execution_options(synchronize_session=False)
    )


def revoke_user_families(
    session: Session, user_id: str, now: datetime, keep: str | None = None
) -> list[str]:
    """End every session of a user but `keep` (a family id); the families that were still
    live."""
    live = select(RefreshToken.family_id).where(
        RefreshToken.user_id == user_id,
        RefreshToken.revoked_at.is_(None),
        RefreshToken.expires_at > now,
    )
    if keep is not None:
        live = live.where(RefreshToken.family_id != keep)
    families = list(session.scalars(live.distinct()))
    tokens = update(RefreshToken).where(
        RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None)
    )
    sessions = update(AccountSession).where(
        AccountSession.user_id == user_id, AccountSession.ended_at.is_(None)
    )
    if keep is not None:
        tokens = tokens.where(RefreshToken.family_id != keep)
        sessions = sessions.where(AccountSession.id != keep)
    for statement in (tokens.values(revoked_at=now), sessions.values(ended_at=now)):
        session.execute(statement.execution_options(synchronize_session=False))
    return families


# -- sessions (sign-ins) and devices ----------------------------------------------------------


def add_account_session(session: Session, row: AccountSession) -> None:
    session.add(row)


def touch_account_session(session: Session, family_id: str, now: datetime) -> None:
    session.execute(
        update(AccountSession)
        .where(AccountSession.id == family_id)
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )


def live_account_sessions(
    session: Session, user_id: str, since: datetime
) -> Sequence[AccountSession]:
    """The sessions not ended and used since `since` (a refresh token's lifetime ago)."""
    return session.scalars(
        select(AccountSession)
        .where(
            AccountSession.user_id == user_id,
            AccountSession.ended_at.is_(None),
            AccountSession.last_used_at > since,
        )
        .order_by(AccountSession.last_used_at.desc())
    ).all()


def account_session(session: Session, user_id: str, family_id: str) -> AccountSession | None:
    return session.scalar(
        select(AccountSession).where(
            AccountSession.id == family_id, AccountSession.user_id == user_id
        )
    )


def sessions_of_device(session: Session, user_id: str, device_key: str) -> Sequence[AccountSession]:
    return session.scalars(
        select(AccountSession).where(
            AccountSession.user_id == user_id, AccountSession.device_key == device_key
        )
    ).all()


def client_device_keys(session: Session, user_id: str) -> set[str]:
    return set(
        session.scalars(select(ClientDevice.device_key).where(ClientDevice.user_id == user_id))
    )


def client_device(session: Session, user_id: str, device_id: int) -> ClientDevice | None:
    return session.scalar(
        select(ClientDevice).where(ClientDevice.id == device_id, ClientDevice.user_id == user_id)
    )


def forget_client_device(session: Session, device: ClientDevice) -> None:
    """Remove a device (and the notices about it) from the account's list."""
    session.execute(
        delete(SignInNotice)
        .where(SignInNotice.device_id == device.id)
        .execution_options(synchronize_session=False)
    )
    session.delete(device)


def revoke_device_token(session: Session, user_id: str, device_id: str, now: datetime) -> None:
    if session.get(RevokedDevice, device_id) is None:
        session.add(RevokedDevice(device_id=device_id, user_id=user_id, revoked_at=now))


def device_token_revoked(session: Session, device_id: str) -> bool:
    return session.get(RevokedDevice, device_id) is not None


# -- one-time codes ------------------------------------------------------------------------------


def add_code(
    session: Session, user: User, purpose: CodePurpose, code_hash: str, expires: datetime
) -> AccountCode:
    row = AccountCode(user_id=user.id, purpose=purpose, code_hash=code_hash, expires_at=expires)
    session.add(row)
    session.flush()
    return row


def retire_codes(session: Session, user_id: str, purpose: CodePurpose, now: datetime) -> None:
    """Every unused code of the purpose stops working (a newer one was sent, or one was
    used)."""
    session.execute(
        update(AccountCode)
        .where(
            AccountCode.user_id == user_id,
            AccountCode.purpose == purpose,
            AccountCode.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )


def take_code(
    session: Session, code_hash: str, purpose: CodePurpose, now: datetime
) -> AccountCode | None:
    """Use a live code: the conditional update makes it usable once, even under races."""
    row = session.scalar(
        select(AccountCode).where(
            AccountCode.code_hash == code_hash, AccountCode.purpose == purpose
        )
    )
    if row is None:
        return None
    taken = rowcount(
        session.execute(
            update(AccountCode)
            .where(
                AccountCode.id == row.id,
                AccountCode.used_at.is_(None),
                AccountCode.expires_at > now,
            )
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
    )
    return row if taken == 1 else None


# -- recovery codes ------------------------------------------------------------------------------


def replace_recovery_codes(session: Session, user_id: str, hashes: list[str]) -> None:
    session.execute(
        delete(RecoveryCode)
        .where(RecoveryCode.user_id == user_id)
        .execution_options(synchronize_session=False)
    )
    session.add_all(RecoveryCode(user_id=user_id, code_hash=h) for h in hashes)


def take_recovery_code(session: Session, user_id: str, code_hash: str, now: datetime) -> bool:
    taken = session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user_id,
            RecoveryCode.code_hash == code_hash,
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return rowcount(taken) == 1


def recovery_codes_left(session: Session, user_id: str) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
        )
        or 0
    )
