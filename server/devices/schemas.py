"""The owner's views of terminals and incidents are `sync.wire`'s models (the terminal's
owner screens read them too), re-exported here; what is left is the server's own."""

from __future__ import annotations

from pydantic import Field

from sync.wire import DevicePublic as DevicePublic
from sync.wire import IncidentPublic as IncidentPublic
from sync.wire import IncidentResolve as IncidentResolve
from sync.wire import MoneyPublic, OfflineLimitsBody

from ..pages import Page

# What a business's terminals may approve offline until its owner sets limits.
DEFAULT_OFFLINE_LIMITS = OfflineLimitsBody(
    max_single_minor=5_000,
    max_per_card_minor=10_000,
    max_unsynced_minor=50_000,
    max_cache_age_seconds=24 * 3600,
    stale_cache_max_minor=0,
)


class DevicePage(Page[DevicePublic]):
    """One page of the business's terminals."""


class IncidentPage(Page[IncidentPublic]):
    """One page of the business's incidents, and what offline overspends cost it."""

    shortfall: list[MoneyPublic] = Field(
        description="every offline overspend's shortfall added up, per currency (all time, "
        "every page): what the business bears beyond its cards' balances"
    )
