"""What the business's owner reads and sends from a terminal (signed in, not as the device):
its paired terminals, the incidents sync flagged, the subscription and its invoices. The
offline limits are `OfflineLimitsBody`, the same message the terminals pull.

Every kind and status here is `OrNewer`: the server adds values in later versions, and a
till older than them shows them in words rather than failing the page."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from ._amounts import MoneyPublic
from ._states import (
    IncidentKind,
    InvoiceKind,
    InvoiceStatus,
    OrNewer,
    PriceKind,
    SubscriptionStatus,
)
from ._text import CardNumber, Prose

__all__ = [
    "DevicePublic",
    "IncidentPublic",
    "IncidentResolve",
    "InvoiceLinePublic",
    "InvoicePayment",
    "InvoicePublic",
    "PricePublic",
    "SubscriptionPublic",
]


class DevicePublic(BaseModel):
    id: str
    name: str
    created_at: datetime  # when it was paired
    last_seen_at: datetime | None
    revoked: bool
    branch_id: str | None = Field(default=None, description="the branch it serves, if named")


class IncidentPublic(BaseModel):
    id: str
    kind: OrNewer[IncidentKind]
    subject_id: str  # the card, voucher or listing it is about
    amount_minor: int  # an offline overspend's: the shortfall the business bears
    currency: str
    detail: str
    created_at: datetime
    resolved_at: datetime | None
    resolution: str
    event_id: str | None = Field(default=None, description="the pushed event that raised it")
    device_id: str | None = Field(default=None, description="the terminal that pushed it")
    till: str | None = Field(default=None, description="that terminal's name")


class IncidentResolve(BaseModel):
    resolution: Prose = Field(min_length=1, max_length=500, description="what was done about it")


class PricePublic(BaseModel):
    code: str
    kind: OrNewer[PriceKind]
    name: str
    price: MoneyPublic = Field(description="a month")
    max_products: int | None = Field(description="a plan's product limit; null: unlimited")


class SubscriptionPublic(BaseModel):
    business_id: str
    plan: PricePublic
    products: int = Field(description="products listed now, against the plan's limit")
    status: OrNewer[SubscriptionStatus]
    hibernating: bool
    period_start: date
    period_end: date = Field(description="the first day of the next period")
    extra_branches: int
    monthly: MoneyPublic = Field(description="what a month costs as things stand")
    pending_plan: str | None = Field(description="a tier change waiting out its grace")
    pending_on: date | None = Field(description="when it takes effect if still needed")
    grace_until: date | None = Field(description="pay by then, or the business is suspended")
    payment_card: str | None = Field(description="the card on file, last four digits")


class InvoicePayment(BaseModel):
    card_number: CardNumber | None = Field(
        default=None,
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
    kind: OrNewer[InvoiceKind] = Field(
        description="period: the month ahead; changes: a day's changes"
    )
    status: OrNewer[InvoiceStatus]
    issued_on: date
    period_start: date
    period_end: date
    total: MoneyPublic
    paid_on: date | None
    receipt: str | None = Field(description="the payment's reference at the gateway, once paid")
    attempts: int
    next_attempt_on: date | None
    lines: list[InvoiceLinePublic]
