"""Terminal events, their payloads, and the push that carries them.

Terminal events are signed by the device's Ed25519 key over a canonical JSON form, so the
server can tell an event came unaltered from the device that made it. The signed form is the
payload as sent (a JSON object); the payload models below are what a terminal builds it from
and what a reader parses it back into.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any, ClassVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field, model_validator

from .. import ed25519
from ._hours import OpeningHours
from ._text import JsonObject, Line, Name, Prose

__all__ = [
    "EVENT_TYPES",
    "VOID_WINDOW",
    "AttemptWithdrawn",
    "BranchEdit",
    "DealEdit",
    "EventIn",
    "EventPayload",
    "EventResult",
    "EventStatus",
    "EventType",
    "GiftCardRedemption",
    "ProductEdit",
    "PushRequest",
    "PushResponse",
    "RedemptionVoid",
    "TerminalEvent",
    "VoucherRedemption",
    "parse_payload",
]


class EventType(StrEnum):
    """What a terminal did; the `type` of a pushed event."""

    GIFT_CARD_REDEMPTION = "gift_card_redemption"
    VOUCHER_REDEMPTION = "voucher_redemption"
    PRODUCT_EDIT = "product_edit"
    DEAL_EDIT = "deal_edit"
    REDEMPTION_VOID = "redemption_void"
    BRANCH_EDIT = "branch_edit"
    ATTEMPT_WITHDRAWN = "attempt_withdrawn"


EVENT_TYPES = tuple(EventType)


class EventStatus(StrEnum):
    """The server's answer for one pushed event."""

    APPLIED = "applied"
    DUPLICATE = "duplicate"  # already applied: the terminal may drop it
    APPLIED_WITH_INCIDENT = "applied_with_incident"  # applied, and the owner has an incident
    REJECTED = "rejected"  # not applied; the detail says why


# A terminal may void one of its own gift-card redemptions for this long after it (the
# customer changed their mind at the counter); after that, the owner refunds.
VOID_WINDOW = timedelta(minutes=15)


# Amounts fit a 64-bit column with room to add them up; the rules bound them further.
_BIG = 2**53

# -- payloads -------------------------------------------------------------------------------


class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True)

    event_type: ClassVar[EventType]

    def to_json(self) -> dict[str, Any]:
        """The payload as sent and signed: only the fields that were given (an absent
        field and a null one can mean different things, as in a deal edit)."""
        return self.model_dump(mode="json", exclude_unset=True)


class GiftCardRedemption(_Payload):
    """A gift-card redemption the terminal approved offline."""

    event_type: ClassVar[EventType] = EventType.GIFT_CARD_REDEMPTION
    card_id: Line = Field(max_length=36)
    amount_minor: int = Field(ge=-_BIG, le=_BIG)
    currency: Line | None = Field(default=None, max_length=3)
    # The Idempotency-Key of the online attempt that got no answer, if there was one.
    attempt_key: Line | None = Field(default=None, max_length=200)
    cashier_id: Line | None = Field(default=None, max_length=36)  # who was signed in


class VoucherRedemption(_Payload):
    """A voucher the terminal accepted offline; its face value counts towards the unsynced
    total."""

    event_type: ClassVar[EventType] = EventType.VOUCHER_REDEMPTION
    voucher_id: Line = Field(max_length=36)
    amount_minor: int = Field(ge=-_BIG, le=_BIG)
    currency: Line | None = Field(default=None, max_length=3)
    attempt_key: Line | None = Field(default=None, max_length=200)
    cashier_id: Line | None = Field(default=None, max_length=36)


class ProductEdit(_Payload):
    """A vendor's product edit, or a new product (no base version)."""

    event_type: ClassVar[EventType] = EventType.PRODUCT_EDIT
    product_id: Line = Field(max_length=36)
    name: Name = Field(max_length=120)
    price_minor: int = Field(ge=-_BIG, le=_BIG)
    base_version: int | None = Field(
        ge=0, le=2**31 - 1, description="the version the edit was made on"
    )


class DealEdit(_Payload):
    """A vendor's change to a deal; a field left out stays as it is."""

    event_type: ClassVar[EventType] = EventType.DEAL_EDIT
    deal_id: Line = Field(max_length=36)
    base_version: int = Field(ge=0, le=2**31 - 1)
    title: Name | None = Field(default=None, max_length=120)
    description: Prose | None = Field(default=None, max_length=2000)
    quantity_limit: int | None = Field(default=None, ge=0, le=2**31 - 1)  # null: no limit


class BranchEdit(_Payload):
    """A vendor's change to a branch (its name, address or opening hours); a field left out
    stays as it is. Like a deal edit, it applies only to the version it was made on."""

    event_type: ClassVar[EventType] = EventType.BRANCH_EDIT
    branch_id: Line = Field(max_length=36)
    base_version: int = Field(ge=0, le=2**31 - 1)
    name: Name | None = Field(default=None, max_length=120)
    address: Prose | None = Field(default=None, min_length=1, max_length=500)
    opening_hours: OpeningHours | None = Field(
        default=None, description="the whole week: a day left out is closed"
    )


class RedemptionVoid(_Payload):
    """The terminal takes back one of its gift-card redemptions, named by its attempt key."""

    event_type: ClassVar[EventType] = EventType.REDEMPTION_VOID
    attempt_key: Line = Field(max_length=200)
    card_id: Line = Field(max_length=36)
    amount_minor: int = Field(ge=-_BIG, le=_BIG)
    currency: Line = Field(max_length=3)
    cashier_id: Line | None = Field(default=None, max_length=36)  # who voided it


class AttemptWithdrawn(_Payload):
    """The terminal takes back an online attempt that may have reached the server (its
    answer was lost: a timeout, a gateway's 502/503/504) and that the till then did not
    approve offline: the cashier was told to take another payment. If the server applied
    the attempt, it gives it back; if not, it refuses the attempt should it arrive later.
    Exactly one of `card_id` and `voucher_id` is given."""

    event_type: ClassVar[EventType] = EventType.ATTEMPT_WITHDRAWN
    attempt_key: Line = Field(max_length=200)
    card_id: Line | None = Field(default=None, max_length=36)
    voucher_id: Line | None = Field(default=None, max_length=36)
    amount_minor: int = Field(ge=-_BIG, le=_BIG)  # what was asked (a voucher: its face value)
    currency: Line = Field(max_length=3)
    cashier_id: Line | None = Field(default=None, max_length=36)  # who was signed in

    @model_validator(mode="after")
    def _one_subject(self) -> AttemptWithdrawn:
        if (self.card_id is None) == (self.voucher_id is None):
            raise ValueError("give exactly one of card_id and voucher_id")
        return self


EventPayload = (
    GiftCardRedemption
    | VoucherRedemption
    | ProductEdit
    | DealEdit
    | RedemptionVoid
    | BranchEdit
    | AttemptWithdrawn
)
_MODELS: dict[str, type[EventPayload]] = {
    model.event_type: model
    for model in (
        GiftCardRedemption,
        VoucherRedemption,
        ProductEdit,
        DealEdit,
        RedemptionVoid,
        BranchEdit,
        AttemptWithdrawn,
    )
}


def parse_payload(event_type: str, payload: dict[str, Any]) -> EventPayload:
    """The typed payload of an event; ValueError (pydantic's ValidationError is one) when
    the type is unknown or the payload does not fit it."""
    model = _MODELS.get(event_type)
    if model is None:
        raise ValueError(f"unknown event type {event_type!r}")
    return model.model_validate(payload)


# -- the event and the answer ---------------------------------------------------------------


@dataclass(frozen=True)
class TerminalEvent:
    """One thing a terminal did offline, in the order it did it (`seq`)."""

    id: str  # a UUID the terminal chose
    seq: int  # the device's own counter, 1, 2, 3, ...
    type: str  # an EventType, as sent (a server is told anything)
    occurred_at: str  # ISO 8601 UTC, the terminal's clock
    payload: dict[str, Any]  # as signed; `parsed()` gives the typed payload
    signature: str = field(default="")  # base64 Ed25519 over `signed_bytes()`

    @classmethod
    def of(cls, payload: EventPayload, *, id: str, seq: int, occurred_at: str) -> TerminalEvent:
        """A new, unsigned event carrying `payload`."""
        return cls(id, seq, payload.event_type.value, occurred_at, payload.to_json())

    def parsed(self) -> EventPayload:
        return parse_payload(self.type, self.payload)

    def signed_bytes(self) -> bytes:
        body = {"id": self.id, "seq": self.seq, "type": self.type,
                "occurred_at": self.occurred_at, "payload": self.payload}  # fmt: skip
        return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    def signed(self, key: Ed25519PrivateKey) -> TerminalEvent:
        signature = base64.b64encode(key.sign(self.signed_bytes())).decode("ascii")
        return TerminalEvent(self.id, self.seq, self.type, self.occurred_at, self.payload,
                             signature)  # fmt: skip

    def signature_holds(self, key: Ed25519PublicKey) -> bool:
        try:
            signature = base64.b64decode(self.signature, validate=True)
        except ValueError:
            return False
        return ed25519.signature_holds(key, signature, self.signed_bytes())

    def to_json(self) -> dict[str, Any]:
        # Not dataclasses.asdict: it deep-copies the payload, a tenth of a push's time.
        return {"id": self.id, "seq": self.seq, "type": self.type,
                "occurred_at": self.occurred_at, "payload": self.payload,
                "signature": self.signature}  # fmt: skip


@dataclass(frozen=True)
class EventResult:
    """The server's answer for one pushed event."""

    id: str
    # Closed: the terminal drops or keeps the event by it, so it must know the value.
    status: EventStatus
    detail: str = ""
    # For a `duplicate`: what the first answer said of the incident its event raised (that
    # answer's detail), so that a till whose answer was lost on the way still tells its
    # operator. Empty otherwise, and from servers older than it.
    incident: str = ""


# -- the push -------------------------------------------------------------------------------


class EventIn(BaseModel):
    """A pushed event as it arrives: checked for size here, for meaning by the server."""

    id: Line = Field(min_length=1, max_length=36)
    seq: int = Field(ge=1, le=2**62)
    type: Line = Field(max_length=40)
    occurred_at: Line = Field(max_length=40)
    payload: JsonObject
    signature: Line = Field(max_length=200)

    def event(self) -> TerminalEvent:
        return TerminalEvent(
            self.id, self.seq, self.type, self.occurred_at, self.payload, self.signature
        )


class PushRequest(BaseModel):
    events: list[EventIn] = Field(max_length=500)


class PushResponse(BaseModel):
    results: list[EventResult]
