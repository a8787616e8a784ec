"""What the billing API answers and accepts. What a terminal's owner screens read (the
subscription, invoices, paying one) is in `sync.wire`, re-exported here."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from pydantic import BaseModel, Field, model_validator

from sync.wire import CardNumber, Line
from sync.wire import InvoiceLinePublic as InvoiceLinePublic
from sync.wire import InvoicePayment as InvoicePayment
from sync.wire import InvoicePublic as InvoicePublic
from sync.wire import PricePublic as PricePublic
from sync.wire import SubscriptionPublic as SubscriptionPublic

from ..pages import Page
from ..patches import Body


class PlanChange(Body):
    plan: Line = Field(max_length=40, description="starter, pro or enterprise (see GET /plans)")


class PaymentCard(Body):
    card_number: CardNumber = Field(
        description="with the simulated gateway: 4242 4242 4242 4242 approves"
    )


class NoticePublic(BaseModel):
    day: date
    kind: str
    message: str


class NoticePage(Page[NoticePublic]):
    """One page of what billing told the business, newest first."""


class InvoicePage(Page[InvoicePublic]):
    """One page of the business's invoices, newest first."""


class RateIn(Body):
    currency: Line = Field(min_length=3, max_length=3)
    rate: Line = Field(
        max_length=24,
        description="units of `currency` per 1 of the billing currency (GBP unless the "
        "operator set another), e.g. 1.1642",
    )
    valid_from: date


class RatePublic(RateIn):
    base_currency: str


class TestClockPublic(BaseModel):
    """A business's test clock, on a sandbox server."""

    __test__: ClassVar[bool] = False  # not a test, whatever pytest thinks of the name
    business_id: str
    today: date = Field(description="the business's billing date")
    real_today: date = Field(description="the server's own date, for comparison")


class TestClockAdvance(Body):
    """Move the clock forward: by `days`, or to the date `to` (one of the two)."""

    __test__: ClassVar[bool] = False  # not a test, whatever pytest thinks of the name
    days: int | None = Field(default=None, ge=1, le=400)
    to: date | None = None

    @model_validator(mode="after")
    def _one_of_the_two(self) -> TestClockAdvance:
        if self.days is None and self.to is None:
            raise ValueError("give days (1–400) or to (a date): where to move the clock")
        if self.days is not None and self.to is not None:
            raise ValueError("give either days (1–400) or to (a date), not both")
        return self


class TestClockAdvanced(TestClockPublic):
    """Where the clock is now, and what billing did on the days passed."""

    invoices: int = Field(description="invoices issued on the days passed")
    paid: int
    failed: int = Field(description="payments that failed (retried on the schedule)")
    suspended: int
    plan_changes: int = Field(description="tier changes whose grace ended")
