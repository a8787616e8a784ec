"""A business's report for a range of days, as its owner reads it (the API, the terminal's
owner screen): money moved, by branch, till or cashier, reconciled to the ledger."""

from __future__ import annotations

import enum
from datetime import date

from pydantic import AliasChoices, BaseModel, Field

from ._amounts import MoneyPublic

__all__ = ["BusinessReport", "Figure", "ReportFigures", "ReportGrouping", "ReportRow"]


class ReportGrouping(enum.StrEnum):
    BRANCH = "branch"
    TILL = "till"
    CASHIER = "cashier"


class Figure(BaseModel):
    """A sum of money and how many operations made it."""

    amount: MoneyPublic
    count: int = Field(ge=0, description="how many ledger operations")


class ReportFigures(BaseModel):
    """What moved in the range. Redemptions count gift cards and vouchers together."""

    cards_sold: Figure
    vouchers_sold: Figure
    redeemed_online: Figure = Field(description="the server decided at the till")
    redeemed_offline: Figure = Field(
        description="tills approved offline and pushed later; includes the shortfalls"
    )
    shortfalls: Figure = Field(description="offline overspend the cards could not cover")
    voids: Figure = Field(description="redemptions a till cancelled at the counter")
    refunds: Figure = Field(description="given back onto cards by the owner")
    breakage: Figure = Field(description="left on cards when they expired")
    takings: MoneyPublic = Field(description="redeemed online and offline, less voids, refunds")


class ReportRow(BaseModel):
    """One branch, till or cashier; `key` null gathers what had none (a customer's purchase
    in the app has no till; a refund by the owner has no branch)."""

    key: str | None
    name: str
    figures: ReportFigures


class BusinessReport(BaseModel):
    business_id: str
    currency: str
    time_zone: str = Field(description="the days' time zone (IANA name)")
    # Sent as `from` and `to` (Python keywords, so named otherwise here).
    from_date: date = Field(
        validation_alias=AliasChoices("from", "from_date"),
        serialization_alias="from",
        description="first day, inclusive",
    )
    to_date: date = Field(
        validation_alias=AliasChoices("to", "to_date"),
        serialization_alias="to",
        description="last day, inclusive",
    )
    group_by: ReportGrouping | None
    rows: list[ReportRow]
    totals: ReportFigures
    liability_opening: MoneyPublic = Field(description="gift cards' balances as the range began")
    liability_closing: MoneyPublic = Field(description="gift cards' balances as the range ended")
    subscription_charges: list[MoneyPublic] = Field(
        description="subscription invoices paid in the range, per currency (not in the ledger)"
    )
