"""Pairing a terminal with a business, and the device key it signs its events with."""

from __future__ import annotations

import base64
from datetime import datetime

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import BaseModel, Field

from ._text import Line, Name

__all__ = [
    "DeviceCredentials",
    "PairRequest",
    "PairingCodeCreate",
    "PairingCodePublic",
    "public_key_from_text",
    "public_key_text",
]


class PairingCodeCreate(BaseModel):
    branch_id: Line | None = Field(
        default=None, max_length=36, description="the branch the new terminal serves"
    )


class PairingCodePublic(BaseModel):
    code: str = Field(description="type it on the terminal, or scan qr_text")
    qr_text: str
    expires_at: datetime
    branch_id: str | None = None


class PairRequest(BaseModel):
    code: Line = Field(max_length=20)
    public_key: Line = Field(max_length=60, description="base64 of the raw 32-byte Ed25519 key")
    name: Name = Field(default="Till", max_length=80)


class DeviceCredentials(BaseModel):
    device_id: str
    business_id: str
    secret: str = Field(description="send as 'Authorization: Device <device_id>.<secret>'")
    branch_id: str | None = Field(default=None, description="the branch it serves, if named")


def public_key_text(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def public_key_from_text(text: str) -> Ed25519PublicKey:
    """The key from its base64 text; ValueError if it is not a 32-byte Ed25519 key."""
    raw = base64.b64decode(text, validate=True)
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)
