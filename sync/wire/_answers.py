"""The terminal-facing redemption routes: what a terminal sends and what it is answered."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from ._amounts import MAX_AMOUNT, MoneyPublic
from ._states import OrNewer, VoucherStatus
from ._text import Line

__all__ = [
    "ProblemAnswer",
    "RedemptionPublic",
    "TerminalRedemption",
    "TerminalVoucherRedemption",
    "VoucherPublic",
]


class TerminalRedemption(BaseModel):
    token: Line = Field(max_length=400, description="the scanned QR text")
    amount_minor: int = Field(strict=True, gt=0, le=MAX_AMOUNT)
    cashier_id: Line | None = Field(
        default=None, max_length=36, description="the staff member signed in at the till"
    )


class TerminalVoucherRedemption(BaseModel):
    token: Line = Field(max_length=400, description="the scanned QR text")
    cashier_id: Line | None = Field(
        default=None, max_length=36, description="the staff member signed in at the till"
    )


class RedemptionPublic(BaseModel):
    id: str = Field(description="the operation id")
    card_id: str
    amount: MoneyPublic
    balance_after: MoneyPublic


class VoucherPublic(BaseModel):
    id: str
    deal_id: str
    business_id: str
    status: OrNewer[VoucherStatus]
    face_value: MoneyPublic
    expires_at: datetime
    redeemed_at: datetime | None


class ProblemAnswer(BaseModel):
    """A refusal, as problem+json (RFC 9457); the last part of `type` is its stable kind."""

    model_config = ConfigDict(extra="allow")

    type: str = ""
    title: str = ""
    status: int | None = None
    detail: str = ""
    # A redemption refused for want of balance says what the card holds.
    balance_minor: int | None = None

    @property
    def kind(self) -> str:
        return self.type.rsplit("/", 1)[-1]
