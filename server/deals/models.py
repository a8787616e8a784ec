from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Enum,
    ForeignKey,
    Integer,
    String,
    Text,
    event,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Mapper, mapped_column

from sync.wire import VoucherStatus

from ..db import Base, UtcDateTime, utcnow
from ..events import Recorded
from ..events.models import EventEntity
from ..folding import fold
from ..ids import ID_LENGTH, make_id


class Deal(Recorded, Base):
    __tablename__ = "deals"
    __event_entity__ = EventEntity.DEAL

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=make_id)
    business_id: Mapped[str] = mapped_column(ForeignKey("businesses.id"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    original_price_minor: Mapped[int] = mapped_column(BigInteger)
    deal_price_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    quantity_limit: Mapped[int | None] = mapped_column(Integer, default=None)
    sold: Mapped[int] = mapped_column(Integer, default=0)
    branch_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    ended: Mapped[bool] = mapped_column(Boolean, default=False)  # by the deals job, or a cancel
    # Set when the business cancels it: no longer sold; vouchers sold stay redeemable.
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # The title and description folded for search (folding.py), written by the hook below.
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="")


@event.listens_for(Deal, "before_insert")
@event.listens_for(Deal, "before_update")
def _fold_deal(_mapper: Mapper[Deal], _connection: Connection, deal: Deal) -> None:
    deal.search_text = fold(f"{deal.title} {deal.description or ''}")


class Voucher(Recorded, Base):
    __tablename__ = "vouchers"
    __event_entity__ = EventEntity.VOUCHER

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=make_id)
    deal_id: Mapped[str] = mapped_column(ForeignKey("deals.id"), index=True)
    business_id: Mapped[str] = mapped_column(ForeignKey("businesses.id"), index=True)
    # None while a club holds it (`community.purchases`), until handed to a member.
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), index=True)
    face_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    token_id: Mapped[str] = mapped_column(String(16))
    token: Mapped[str] = mapped_column(String(240))
    status: Mapped[VoucherStatus] = mapped_column(
        Enum(
            VoucherStatus,
            native_enum=False,
            length=20,
            values_callable=lambda k: [m.value for m in k],
        ),
        default=VoucherStatus.ISSUED,
    )
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    redeemed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    redeemed_by: Mapped[str | None] = mapped_column(String(ID_LENGTH), default=None)
    version: Mapped[int] = mapped_column(Integer, default=1)


class DealView(Base):
    """How many times a deal's page was asked for (`GET /deals/{id}`) on a day: the first step
    of a deal's effectiveness (views, then purchases, then redemptions). A counter per deal
    and day, so a view is one UPDATE, and the deal itself (cached by terminals) is untouched."""

    __tablename__ = "deal_views"

    deal_id: Mapped[str] = mapped_column(ForeignKey("deals.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    views: Mapped[int] = mapped_column(BigInteger, default=0)
