"""The owner's view of terminals and incidents. What a terminal sends and receives is in
`sync.wire`, shared with the terminal."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from sync.wire import OfflineLimitsBody


class DevicePublic(BaseModel):
    id: str
    name: str
    created_at: datetime
    last_seen_at: datetime | None
    revoked: bool


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


# What a business's terminals may approve offline until its owner sets limits.
DEFAULT_OFFLINE_LIMITS = OfflineLimitsBody(
    max_single_minor=5_000,
    max_per_card_minor=10_000,
    max_unsynced_minor=50_000,
    max_cache_age_seconds=24 * 3600,
    stale_cache_max_minor=0,
)
