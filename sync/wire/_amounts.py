"""Amounts as they cross the wire."""

from __future__ import annotations

from pydantic import BaseModel, Field

from ..money import Money

__all__ = ["MAX_AMOUNT", "MoneyPublic"]

MAX_AMOUNT = 10_000_000  # minor units: 100,000.00 of a two-decimal currency


class MoneyPublic(BaseModel):
    """An amount as integer minor units plus currency, with its display text."""

    minor: int = Field(description="integer minor units (pence, cents, yen)")
    currency: str = Field(description="ISO 4217 code")
    text: str = Field(description="formatted for people, e.g. £12.50")

    @classmethod
    def of(cls, money: Money) -> MoneyPublic:
        return cls(minor=money.minor, currency=money.currency.code, text=money.format())

    def money(self) -> Money:
        return Money.of(self.minor, self.currency)
