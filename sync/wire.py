"""What crosses the wire between a terminal and the server during sync.

Terminal events are signed by the device's Ed25519 key over a canonical JSON form, so the
server can tell an event came unaltered from the device that made it.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = [
    "EVENT_TYPES",
    "VOID_WINDOW",
    "EventResult",
    "TerminalEvent",
    "public_key_from_text",
    "public_key_text",
]

EVENT_TYPES = (
    "gift_card_redemption",
    "voucher_redemption",
    "product_edit",
    "deal_edit",
    "redemption_void",
)
# A terminal may void one of its own gift-card redemptions for this long after it (the
# customer changed their mind at the counter); after that, the owner refunds.
VOID_WINDOW = timedelta(minutes=15)
ResultStatus = Literal["applied", "duplicate", "applied_with_incident", "rejected"]


@dataclass(frozen=True)
class TerminalEvent:
    """One thing a terminal did offline, in the order it did it (`seq`)."""

    id: str  # a UUID the terminal chose
    seq: int  # the device's own counter, 1, 2, 3, ...
    type: str  # one of EVENT_TYPES
    occurred_at: str  # ISO 8601 UTC, the terminal's clock
    payload: dict[str, Any]
    signature: str = field(default="")  # base64 Ed25519 over `signed_bytes()`

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
            key.verify(base64.b64decode(self.signature, validate=True), self.signed_bytes())
        except (InvalidSignature, ValueError):
            return False
        return True

    def to_json(self) -> dict[str, Any]:
        # Not dataclasses.asdict: it deep-copies the payload, a tenth of a push's time.
        return {"id": self.id, "seq": self.seq, "type": self.type,
                "occurred_at": self.occurred_at, "payload": self.payload,
                "signature": self.signature}  # fmt: skip


@dataclass(frozen=True)
class EventResult:
    """The server's answer for one pushed event."""

    id: str
    status: ResultStatus
    detail: str = ""


def public_key_text(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def public_key_from_text(text: str) -> Ed25519PublicKey:
    """The key from its base64 text; ValueError if it is not a 32-byte Ed25519 key."""
    raw = base64.b64decode(text, validate=True)
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)
