from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from ..wallet.schemas import MAX_AMOUNT


class PairingCodePublic(BaseModel):
    code: str = Field(description="type it on the terminal, or scan qr_text")
    qr_text: str
    expires_at: datetime


class PairRequest(BaseModel):
    code: str = Field(max_length=20)
    public_key: str = Field(max_length=60, description="base64 of the raw 32-byte Ed25519 key")
    name: str = Field(default="Till", min_length=1, max_length=80)


class DeviceCredentials(BaseModel):
    device_id: str
    business_id: str
    secret: str = Field(description="send as 'Authorization: Device <device_id>.<secret>'")


class DevicePublic(BaseModel):
    id: str
    name: str
    created_at: datetime
    last_seen_at: datetime | None
    revoked: bool


class EventIn(BaseModel):
    id: str = Field(min_length=1, max_length=36)
    seq: int = Field(ge=1, le=2**62)
    type: str = Field(max_length=40)
    occurred_at: str = Field(max_length=40)
    payload: dict[str, Any]
    signature: str = Field(max_length=200)


class PushRequest(BaseModel):
    events: list[EventIn] = Field(max_length=500)


class EventResultOut(BaseModel):
    id: str
    status: Literal["applied", "duplicate", "applied_with_incident", "rejected"]
    detail: str


class PushResponse(BaseModel):
    results: list[EventResultOut]


class IncidentPublic(BaseModel):
    id: str
    kind: str
    subject_id: str
    amount_minor: int
    currency: str
    detail: str
    created_at: datetime
    resolved_at: datetime | None
    resolution: str


class IncidentResolve(BaseModel):
    resolution: str = Field(min_length=1, max_length=500, description="what was done about it")


class TerminalRedemption(BaseModel):
    token: str = Field(max_length=400, description="the scanned QR text")
    amount_minor: int = Field(gt=0, le=MAX_AMOUNT)
