"""What the billing API answers and accepts."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from ..directory.schemas import MoneyPublic
from .models import InvoiceKind, InvoiceStatus, PriceKind, SubscriptionStatus


class PricePublic(BaseModel):
    code: str
    kind: PriceKind
    name: str
    price: MoneyPublic = Field(description="a month")
    max_products: int | None = Field(description="a plan's product limit; null: unlimited")


class SubscriptionPublic(BaseModel):
    business_id: str
    plan: PricePublic
    products: int = Field(description="products listed now, against the plan's limit")
    status: SubscriptionStatus
    hibernating: bool
    period_start: date
    period_end: date = Field(description="the first day of the next period")
    extra_branches: int
    monthly: MoneyPublic = Field(description="what a month costs as things stand")
    pending_plan: str | None = Field(description="a tier change waiting out its grace")
    pending_on: date | None = Field(description="when it takes effect if still needed")
    grace_until: date | None = Field(description="pay by then, or the business is suspended")
    payment_card: str | None = Field(description="the card on file, last four digits")


class PlanChange(BaseModel):
    plan: str = Field(description="starter, pro or enterprise (see GET /plans)")


class PaymentCard(BaseModel):
    card_number: str = Field(min_length=12, max_length=19, pattern=r"^\d+$")


class InvoicePayment(BaseModel):
    card_number: str | None = Field(
        default=None,
        min_length=12,
        max_length=19,
        pattern=r"^\d+$",
        description="pay with this card (and keep it on file); default: the card on file",
    )


class InvoiceLinePublic(BaseModel):
    description: str
    amount: MoneyPublic
    base: MoneyPublic = Field(description="the price-list amount before conversion")
    rate: str = Field(description="invoice currency per unit of the base currency, exact")
    rate_date: date | None = Field(description="the rate's date; null: no conversion")


class InvoicePublic(BaseModel):
    id: str
    kind: InvoiceKind = Field(description="period: the month ahead; changes: a day's changes")
    status: InvoiceStatus
    issued_on: date
    period_start: date
    period_end: date
    total: MoneyPublic
    paid_on: date | None
    receipt: str | None = Field(description="the payment's reference at the gateway, once paid")
    attempts: int
    next_attempt_on: date | None
    lines: list[InvoiceLinePublic]


class NoticePublic(BaseModel):
    day: date
    kind: str
    message: str


class RateIn(BaseModel):
    currency: str = Field(min_length=3, max_length=3)
    rate: str = Field(
        max_length=24,
        description="units of `currency` per 1 of the billing currency (GBP unless the "
        "operator set another), e.g. 1.1642",
    )
    valid_from: date


class RatePublic(RateIn):
    base_currency: str
