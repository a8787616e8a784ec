"""What the customers' stream (`GET /me/stream`) says."""

from __future__ import annotations

from pydantic import BaseModel, Field

from sync.wire import CardStatus, MoneyPublic

__all__ = ["CARD_CHANGED", "CardChanged"]

CARD_CHANGED = "card"


class CardChanged(BaseModel):
    """One of your cards changed: its balance and status now."""

    card_id: str
    business_id: str
    status: CardStatus
    balance: MoneyPublic
    version: int = Field(description="grows with every change of the card's own fields")
