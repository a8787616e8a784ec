from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, Field, model_validator

from sync.money import Money
from sync.wire import Line, Name, Prose
from sync.wire import VoucherPublic as VoucherPublic  # a terminal reads it too

from ..directory.schemas import MoneyPublic
from ..pages import Page
from ..wallet.schemas import MAX_AMOUNT, PaymentDetails

if TYPE_CHECKING:
    from ..directory.models import Business
    from .models import Deal, Voucher


class DealCreate(BaseModel):
    title: Name = Field(max_length=120)
    description: Prose = Field(default="", max_length=2000)
    original_price_minor: int = Field(gt=0, le=MAX_AMOUNT)
    deal_price_minor: int = Field(gt=0, le=MAX_AMOUNT)
    starts_at: datetime
    ends_at: datetime
    quantity_limit: int | None = Field(default=None, ge=1, le=1_000_000)
    branch_ids: list[Annotated[Line, Field(max_length=22)]] = Field(
        default_factory=list,
        max_length=100,
        description="where it can be redeemed; empty means everywhere",
    )

    @model_validator(mode="after")
    def sensible(self) -> DealCreate:
        if self.deal_price_minor >= self.original_price_minor:
            raise ValueError("the deal price must be below the original price")
        if self.starts_at.tzinfo is None or self.ends_at.tzinfo is None:
            raise ValueError("give times with a timezone, e.g. 2026-12-01T09:00:00Z")
        if self.ends_at <= self.starts_at:
            raise ValueError("the deal must end after it starts")
        return self


class DealPublic(BaseModel):
    id: str
    business_id: str
    business_name: str
    title: str
    description: str
    original_price: MoneyPublic
    deal_price: MoneyPublic
    starts_at: datetime
    ends_at: datetime
    seconds_left: int = Field(description="until the deal ends; 0 once it has")
    remaining: int | None = Field(description="vouchers left, or null when unlimited")
    distance_km: float | None = None


class DealPage(Page[DealPublic]):
    """One page of deals on sale."""


class VoucherPurchase(BaseModel):
    payment: PaymentDetails


def deal_public(
    deal: Deal, business: Business, now: datetime, distance: float | None = None
) -> DealPublic:
    return DealPublic(
        id=deal.id,
        business_id=business.id,
        business_name=business.name,
        title=deal.title,
        description=deal.description,
        original_price=MoneyPublic.of(Money.of(deal.original_price_minor, deal.currency)),
        deal_price=MoneyPublic.of(Money.of(deal.deal_price_minor, deal.currency)),
        starts_at=deal.starts_at,
        ends_at=deal.ends_at,
        seconds_left=max(0, int((deal.ends_at - now).total_seconds())),
        remaining=None if deal.quantity_limit is None else deal.quantity_limit - deal.sold,
        distance_km=None if distance is None else round(distance, 3),
    )


def voucher_public(voucher: Voucher) -> VoucherPublic:
    return VoucherPublic(
        id=voucher.id,
        deal_id=voucher.deal_id,
        business_id=voucher.business_id,
        status=voucher.status,
        face_value=MoneyPublic.of(Money.of(voucher.face_minor, voucher.currency)),
        expires_at=voucher.expires_at,
        redeemed_at=voucher.redeemed_at,
    )


class VoucherIssued(VoucherPublic):
    token: str
    qr_png: str
    qr_svg: str


class VoucherRedemption(BaseModel):
    token: Line | None = Field(default=None, max_length=400)
    voucher_id: Line | None = Field(default=None, max_length=22)

    @model_validator(mode="after")
    def one_of(self) -> VoucherRedemption:
        if (self.token is None) == (self.voucher_id is None):
            raise ValueError("give exactly one of token and voucher_id")
        return self
