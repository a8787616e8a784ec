from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Integer, String, Text, event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Mapper, mapped_column, relationship

from sync.wire import StaffRole

from ..db import Base, UtcDateTime, str_enum, utcnow
from ..events import Recorded
from ..events.models import EventEntity, EventKind
from ..folding import fold
from ..ids import ID_LENGTH, make_id


class Business(Recorded, Base):
    """A business listed by its owner. Its changes are events (terminals show its name on
    receipts); its creation is not: its log starts with what it lists."""

    __tablename__ = "businesses"
    __event_entity__ = EventEntity.BUSINESS

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=make_id)
    name: Mapped[str] = mapped_column(String(120), index=True)
    category: Mapped[str] = mapped_column(String(60), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    currency: Mapped[str] = mapped_column(String(3))
    # An IANA name (`Europe/Lisbon`): its reports' days and its tills' "today" run in it.
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    # Folded copies for search (folding.py), written by the flush hook below.
    search_name: Mapped[str] = mapped_column(String(120), default="", server_default="")
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Suspended by an operator in the console (apart from billing's suspension for an unpaid
    # invoice, which a payment lifts): hidden and not selling until an operator restores it.
    suspended_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    suspension_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Set when its owner removes it: gone from search, selling nothing new; what it sold
    # stays redeemable, and its records stay for its accounts.
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)

    branches: Mapped[list[Branch]] = relationship(
        back_populates="business", order_by="Branch.name", cascade="all, delete-orphan"
    )

    def event_key(self) -> tuple[str, str]:
        return self.id, self.id

    def event_wanted(self, kind: EventKind) -> bool:
        return kind is not EventKind.CREATED


@event.listens_for(Business, "before_insert")
@event.listens_for(Business, "before_update")
def _fold_business(_mapper: Mapper[Business], _connection: Connection, business: Business) -> None:
    business.search_name = fold(business.name)
    business.search_text = fold(f"{business.name} {business.category} {business.description or ''}")


class StaffMember(Base):
    """A staff account works for exactly one business, as a cashier or a manager (who
    also manages the business's listings, deals and lists through the API)."""

    __tablename__ = "staff"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    business_id: Mapped[str] = mapped_column(ForeignKey("businesses.id"), index=True)
    role: Mapped[StaffRole] = mapped_column(
        str_enum(StaffRole, 20), default=StaffRole.CASHIER, server_default=StaffRole.CASHIER.value
    )


class Branch(Recorded, Base):
    __tablename__ = "branches"
    __event_entity__ = EventEntity.BRANCH

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=make_id)
    business_id: Mapped[str] = mapped_column(ForeignKey("businesses.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    address: Mapped[str] = mapped_column(Text)
    latitude: Mapped[float] = mapped_column(Float)  # geography, not money: floats are fine
    longitude: Mapped[float] = mapped_column(Float)
    opening_hours: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    business: Mapped[Business] = relationship(back_populates="branches")


class Product(Recorded, Base):
    __tablename__ = "products"
    __event_entity__ = EventEntity.PRODUCT

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=make_id)
    business_id: Mapped[str] = mapped_column(ForeignKey("businesses.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    price_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
