"""What the billing API answers and accepts. What a terminal's owner screens read (the
subscription, invoices, paying one) is in `sync.wire`, re-exported here."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from sync.wire import InvoiceLinePublic as InvoiceLinePublic
from sync.wire import InvoicePayment as InvoicePayment
from sync.wire import InvoicePublic as InvoicePublic
from sync.wire import Line
from sync.wire import PricePublic as PricePublic
from sync.wire import SubscriptionPublic as SubscriptionPublic


class PlanChange(BaseModel):
    plan: Line = Field(max_length=40, description="starter, pro or enterprise (see GET /plans)")


class PaymentCard(BaseModel):
    card_number: Line = Field(min_length=12, max_length=19, pattern=r"^[0-9]+$")


class NoticePublic(BaseModel):
    day: date
    kind: str
    message: str


class RateIn(BaseModel):
    currency: Line = Field(min_length=3, max_length=3)
    rate: Line = Field(
        max_length=24,
        description="units of `currency` per 1 of the billing currency (GBP unless the "
        "operator set another), e.g. 1.1642",
    )
    valid_from: date


class RatePublic(RateIn):
    base_currency: str
