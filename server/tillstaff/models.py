from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from sync.wire import StaffRole

from ..db import Base, UtcDateTime, str_enum, utcnow
from ..events import Recorded
from ..events.models import EventEntity


class TillStaff(Recorded, Base):
    """A person who can sign in at the business's tills: the owner or a staff account, with
    a till role and a PIN kept only as a slow salted hash (`sync.pins`). No row, no PIN:
    clearing a PIN removes the row, and the terminals drop their copy on the next pull."""

    __tablename__ = "till_staff"
    __event_entity__ = EventEntity.STAFF

    business_id: Mapped[str] = mapped_column(ForeignKey("businesses.id"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    role: Mapped[StaffRole] = mapped_column(str_enum(StaffRole, 20))
    pin_hash: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)

    def event_key(self) -> tuple[str, str]:
        return self.business_id, self.user_id
