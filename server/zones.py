"""Time zones by their IANA names (`Europe/Lisbon`, `UTC`), as a business keeps its own and
a report's `tz` names one: its days run midnight to midnight there."""

from __future__ import annotations

from functools import cache
from zoneinfo import ZoneInfo, available_timezones

__all__ = ["MAX_ZONE_NAME", "zone_named"]

MAX_ZONE_NAME = 64
"""Longer than any IANA name (the longest is 32 characters)."""

# Files beside the zones that name no zone: the host's own zone (`localtime`, whatever this
# host is set to) and the old default rules.
_NOT_ZONES = frozenset({"localtime", "posixrules"})


@cache
def _names() -> frozenset[str]:
    return frozenset(available_timezones()) - _NOT_ZONES


def zone_named(name: str) -> ZoneInfo | None:
    """The zone `name` names exactly; None for anything else: a typo, another case, a
    folder of zones (`Europe`), a path."""
    return ZoneInfo(name) if name in _names() else None
