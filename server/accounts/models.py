from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UtcDateTime, utcnow
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
