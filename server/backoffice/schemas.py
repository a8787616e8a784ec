from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from sync.wire import MoneyPublic

from ..pages import Page
from ..wallet.models import HoldStatus


class HeldPublic(BaseModel):
    """A hold on one of the business's cards, as its list shows it."""

    id: str
    card_id: str
    status: HoldStatus = Field(description="pending, posted, voided or expired")
    amount: MoneyPublic = Field(description="held")
    posted: MoneyPublic = Field(description="taken of it")
    created_at: datetime
    expires_at: datetime


class HoldPage(Page[HeldPublic]):
    """One page of the business's holds."""
