from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UtcDateTime, str_enum, utcnow
from ..ids import ID_LENGTH, make_id


class AdminActionKind(enum.StrEnum):
    BUSINESS_SUSPENDED = "business_suspended"
    BUSINESS_RESTORED = "business_restored"
    FRAUD_REVIEW_RESOLVED = "fraud_review_resolved"


class AdminAction(Base):
    """The audit log: one row for each change an admin made in the console — who, what,
    when, to what, and why. Written in the transaction of the change; never edited."""

    __tablename__ = "admin_actions"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=make_id)
    admin_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[AdminActionKind] = mapped_column(str_enum(AdminActionKind, 40))
    target_kind: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[str] = mapped_column(String(64), index=True)
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
