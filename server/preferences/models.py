"""A customer's favourite businesses, saved deals, and preferred categories and home."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UtcDateTime, utcnow

__all__ = ["FavouriteBusiness", "SavedDeal", "Tastes"]


class FavouriteBusiness(Base):
    __tablename__ = "favourite_businesses"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    business_id: Mapped[str] = mapped_column(
        ForeignKey("businesses.id"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class SavedDeal(Base):
    __tablename__ = "saved_deals"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    deal_id: Mapped[str] = mapped_column(ForeignKey("deals.id"), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Tastes(Base):
    """Preferred categories and a home location; no row means none of either."""

    __tablename__ = "customer_tastes"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    home_latitude: Mapped[float | None] = mapped_column(Float, default=None)
    home_longitude: Mapped[float | None] = mapped_column(Float, default=None)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)
