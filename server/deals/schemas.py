from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, Field, model_validator

from sync.money import Money
from sync.wire import Line, Name, Prose
from sync.wire import VoucherPublic as VoucherPublic  # a terminal reads it too

from ..directory.schemas import MoneyPublic
from ..pages import Page
from ..patches import Body, Patch
from ..wallet.schemas import MAX_AMOUNT, PaymentDetails

if TYPE_CHECKING:
    from ..directory.models import Business
    from .models import Deal, Voucher


BranchIds = list[Annotated[Line, Field(max_length=22)]]


class DealCreate(Body):
    title: Name = Field(max_length=120)
    description: Prose = Field(default="", max_length=2000)
    original_price_minor: int = Field(strict=True, gt=0, le=MAX_AMOUNT)
    deal_price_minor: int = Field(strict=True, gt=0, le=MAX_AMOUNT)
    starts_at: datetime
    ends_at: datetime
    quantity_limit: int | None = Field(default=None, ge=1, le=1_000_000)
    branch_ids: BranchIds = Field(
        default_factory=list,
        max_length=100,
        description="where it can be redeemed; empty means everywhere",
    )

    @model_validator(mode="after")
    def sensible(self) -> DealCreate:
        problem = terms_problem(
            self.original_price_minor, self.deal_price_minor, self.starts_at, self.ends_at
        )
        if problem is not None:
            raise ValueError(problem)
        return self


# A voucher expires when its deal ends, and its code carries that time in 32 bits of
# seconds (until February 2106): a deal ends by the end of 2099, well within it.
LATEST_END = datetime(2100, 1, 1, tzinfo=UTC)


def terms_problem(
    original_minor: int, deal_minor: int, starts_at: datetime, ends_at: datetime
) -> str | None:
    """What is wrong with a deal's prices and times, in words; None when they will do."""
    if deal_minor >= original_minor:
        return "the deal price must be below the original price"
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        return "give times with a timezone, e.g. 2026-12-01T09:00:00Z"
    if ends_at <= starts_at:
        return "the deal must end after it starts"
    if ends_at > LATEST_END:
        return (
            "the deal must end by the end of 2099 (its vouchers expire when it ends): for a "
            "deal with no end in sight, give a date years ahead; you can cancel it sooner"
        )
    return None


class DealUpdate(Patch):
    """A change to a deal; what is left out stays. Vouchers already sold keep their price
    and their expiry."""

    NULLABLE = frozenset({"quantity_limit"})

    title: Name | None = Field(default=None, max_length=120)
    description: Prose | None = Field(default=None, max_length=2000)
    original_price_minor: int | None = Field(default=None, strict=True, gt=0, le=MAX_AMOUNT)
    deal_price_minor: int | None = Field(default=None, strict=True, gt=0, le=MAX_AMOUNT)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    quantity_limit: int | None = Field(
        default=None, ge=1, le=1_000_000, description="null: no limit; not below those sold"
    )
    branch_ids: BranchIds | None = Field(
        default=None, max_length=100, description="where it can be redeemed; empty: everywhere"
    )


class DealStatus(enum.StrEnum):
    """Where a deal stands, for its business."""

    DRAFT = "draft"  # not on sale yet: it starts later
    ACTIVE = "active"  # on sale now (perhaps sold out)
    ENDED = "ended"  # past its end, or its business closed
    CANCELLED = "cancelled"  # cancelled by its business: no longer sold


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


class DealOwned(DealPublic):
    """A deal as its business sees it: its state and its sales too."""

    status: DealStatus
    sold: int = Field(description="vouchers sold")
    quantity_limit: int | None
    branch_ids: list[str]
    version: int
    cancelled_at: datetime | None


class DealOwnedPage(Page[DealOwned]):
    """One page of a business's own deals."""


class VoucherPurchase(Body):
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


def deal_status(deal: Deal, now: datetime) -> DealStatus:
    if deal.cancelled_at is not None:
        return DealStatus.CANCELLED
    if deal.ended or deal.ends_at <= now:
        return DealStatus.ENDED
    return DealStatus.DRAFT if deal.starts_at > now else DealStatus.ACTIVE


def deal_owned(deal: Deal, business: Business, now: datetime) -> DealOwned:
    return DealOwned(
        **deal_public(deal, business, now).model_dump(),
        status=deal_status(deal, now),
        sold=deal.sold,
        quantity_limit=deal.quantity_limit,
        branch_ids=deal.branch_ids,
        version=deal.version,
        cancelled_at=deal.cancelled_at,
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


class VoucherPage(Page[VoucherPublic]):
    """One page of vouchers."""


class VoucherIssued(VoucherPublic):
    token: str
    qr_png: str
    qr_svg: str


class VoucherRedemption(Body):
    token: Line | None = Field(default=None, max_length=400)
    voucher_id: Line | None = Field(default=None, max_length=22)

    @model_validator(mode="after")
    def one_of(self) -> VoucherRedemption:
        if (self.token is None) == (self.voucher_id is None):
            raise ValueError("give exactly one of token and voucher_id")
        return self
