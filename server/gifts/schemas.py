from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, EmailStr, Field, StringConstraints

from sync.wire import MAX_AMOUNT, Line, MoneyPublic, Name, Prose

from ..pages import Page
from ..patches import Body
from ..wallet.schemas import PaymentDetails
from .models import GiftState

# A claim code as people type it from the email: `ABCD-EFGH-JKMN`, any case, dashes or not.
GiftCodeText = Annotated[
    str, StringConstraints(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9 -]+$")
]


class GiftPurchase(Body):
    amount_minor: int = Field(
        strict=True, gt=0, le=MAX_AMOUNT, description="value in the business's currency"
    )
    payment: PaymentDetails
    recipient_email: EmailStr = Field(description="where the gift email goes")
    recipient_name: Name = Field(max_length=100, description="how the email greets them")
    message: Prose = Field(default="", max_length=500, description="your note, shown in the email")
    from_name: Line = Field(
        default="", max_length=100, description="how the email names you; empty: your email"
    )
    deliver_at: AwareDatetime | None = Field(
        default=None,
        description="when the email goes, with its timezone (e.g. 2027-01-31T09:00:00+01:00); "
        "omitted: now. Not in the past, at most 366 days ahead.",
    )


class GiftClaim(Body):
    code: GiftCodeText = Field(description="the code from the gift email")


class GiftPublic(BaseModel):
    """A gift as its buyer sees it (never its code)."""

    id: str
    business_id: str
    card_id: str
    amount: MoneyPublic = Field(description="what the card was bought for")
    recipient_email: str
    recipient_name: str
    message: str
    state: GiftState = Field(
        description="scheduled (waiting for its time), sent, claimed, cancelled, or failed "
        "(the email could not be sent)"
    )
    deliver_at: datetime
    sent_at: datetime | None
    claimed_at: datetime | None
    cancelled_at: datetime | None
    created_at: datetime


class GiftPage(Page[GiftPublic]):
    pass


class GiftClaimed(BaseModel):
    """A gift now in the recipient's account: its card is in `/me/gift-cards`."""

    gift_id: str
    card_id: str
    business_id: str
    balance: MoneyPublic
    from_name: str
    message: str
