from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Enum, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UtcDateTime, str_enum, utcnow
from ..ids import ID_LENGTH, make_id


class Role(enum.StrEnum):
    CUSTOMER = "customer"
    VENDOR_OWNER = "vendor_owner"
    VENDOR_STAFF = "vendor_staff"  # a cashier, working for one business
    ADMIN = "admin"


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=make_id)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=20))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    email_verified_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    # Two-step sign-in: the TOTP secret (base32) once enrolment starts; on from
    # `mfa_enabled_at`. `mfa_last_step` is the last time step a code was taken for, so a
    # code works once.
    mfa_secret: Mapped[str | None] = mapped_column(String(64), default=None)
    mfa_enabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    mfa_last_step: Mapped[int | None] = mapped_column(BigInteger, default=None)
    # A deleted account stays as an anonymous row (its id only) so that the cards and
    # vouchers it held keep an owner no one can sign in as (docs/api.md, "Deleting").
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)


class RefreshToken(Base):
    __tablename__ = "refresh_tokens"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=make_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Every token a sign-in's refreshes lead to shares one family (and access tokens name it
    # as their `sid`): reusing a rotated token revokes the family, logout ends it.
    family_id: Mapped[str] = mapped_column(String(ID_LENGTH), index=True)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)


class AccountSession(Base):
    """One sign-in: a refresh-token family, where it came from and when it was last used.
    What `GET /me/sessions` lists and the person can end."""

    __tablename__ = "account_sessions"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)  # the family id
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    device_id: Mapped[str] = mapped_column(String(ID_LENGTH))  # its device token's `did`
    device_key: Mapped[str] = mapped_column(String(80))  # its client device (fraud's key)
    user_agent: Mapped[str] = mapped_column(String(300))
    address: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    last_used_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)


class RevokedDevice(Base):
    """A device token its owner revoked: it no longer makes a device known."""

    __tablename__ = "revoked_devices"

    device_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    revoked_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class CodePurpose(enum.StrEnum):
    VERIFY_EMAIL = "verify_email"
    RESET_PASSWORD = "reset_password"  # noqa: S105 - a purpose's name, not a secret


class AccountCode(Base):
    """A one-time code emailed to the account's address (kept as a hash only): it
    verifies the address, or resets the password. Single use, expiring."""

    __tablename__ = "account_codes"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=make_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    purpose: Mapped[CodePurpose] = mapped_column(str_enum(CodePurpose, 20))
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)


class RecoveryCode(Base):
    """A two-step sign-in recovery code (hashed), good once instead of an app's code."""

    __tablename__ = "recovery_codes"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=make_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)

    __table_args__ = (Index("ix_recovery_codes_user", "user_id", "code_hash"),)
