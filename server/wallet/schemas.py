from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field, model_validator

from sync.wire import MAX_AMOUNT as MAX_AMOUNT
from sync.wire import CardNumber, Line, MoneyPublic, Name
from sync.wire import RedemptionPublic as RedemptionPublic  # a terminal reads it too

from ..pages import Page
from ..patches import Body

if TYPE_CHECKING:
    from .cards import Redemption


class PaymentDetails(Body):
    card_number: CardNumber = Field(
        description="with the simulated gateway: 4242 4242 4242 4242 approves"
    )


class GiftCardPurchase(Body):
    amount_minor: int = Field(
        strict=True, gt=0, le=MAX_AMOUNT, description="value in the business's currency"
    )
    payment: PaymentDetails


class CardReference(Body):
    """Which card: the scanned QR text (checked like a terminal does), or the card id."""

    token: Line | None = Field(default=None, max_length=400, description="the QR text, TP1:…")
    card_id: Line | None = Field(default=None, max_length=22)

    @model_validator(mode="after")
    def one_of(self) -> CardReference:
        if (self.token is None) == (self.card_id is None):
            raise ValueError("give exactly one of token and card_id")
        return self


class RedemptionRequest(CardReference):
    amount_minor: int = Field(strict=True, gt=0, le=MAX_AMOUNT)


class HoldRequest(RedemptionRequest):
    expires_in_seconds: int = Field(default=900, ge=30, le=7 * 86400)


class HoldPost(Body):
    amount_minor: int = Field(
        strict=True, gt=0, le=MAX_AMOUNT, description="at most the amount held"
    )


class RefundRequest(Body):
    redemption_id: Line = Field(
        max_length=22,
        description="the redemption to give back (its `id`), or a posted hold's id; refunds "
        "of it add up to at most what it took",
    )
    card_id: Line | None = Field(
        default=None, max_length=22, description="optional: the redemption's card, checked"
    )
    amount_minor: int = Field(strict=True, gt=0, le=MAX_AMOUNT)
    reason: Name = Field(
        max_length=200, description="why, in a few words: the card's history shows it"
    )


class CardTransferRequest(Body):
    to_card_id: Line = Field(max_length=22)
    amount_minor: int = Field(strict=True, gt=0, le=MAX_AMOUNT)


class GiftCardPublic(BaseModel):
    id: str
    business_id: str
    status: Literal["active", "blocked", "expired"]
    balance: MoneyPublic
    issued_at: datetime
    expires_at: datetime
    version: int


class GiftCardPage(Page[GiftCardPublic]):
    pass


class GiftCardIssued(GiftCardPublic):
    token: str = Field(description="the QR text; show it as a QR code at the counter")
    qr_png: str
    qr_svg: str


def redemption_public(redeemed: Redemption) -> RedemptionPublic:
    return RedemptionPublic(
        id=redeemed.operation_id,
        card_id=redeemed.card_id,
        amount=MoneyPublic.of(redeemed.amount),
        balance_after=MoneyPublic.of(redeemed.balance_after),
    )


class HoldPublic(BaseModel):
    id: str
    card_id: str
    status: Literal["pending", "posted", "voided", "expired"]
    amount: MoneyPublic
    posted: MoneyPublic
    expires_at: datetime
    balance_after: MoneyPublic


class HistoryEntry(BaseModel):
    operation_id: str
    kind: str
    amount: MoneyPublic = Field(description="positive into the card, negative out of it")
    at: datetime
    memo: str


class CardHistory(BaseModel):
    card_id: str
    balance: MoneyPublic
    entries: list[HistoryEntry]
