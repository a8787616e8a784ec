"""Searching near a point: the `lat` and `lon` query parameters every "near me" list takes,
given both or neither."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from .errors import FieldInvalid

__all__ = ["Latitude", "Longitude", "point"]

Latitude = Annotated[
    float | None,
    Query(ge=-90, le=90, allow_inf_nan=False, description="search near this point (with lon)"),
]
Longitude = Annotated[
    float | None,
    Query(ge=-180, le=180, allow_inf_nan=False, description="search near this point (with lat)"),
]


def point(lat: float | None, lon: float | None, without: str) -> tuple[float, float] | None:
    """The point searched near, or None when neither is given (the search goes `without`
    one, in words); `FieldInvalid` naming the one left out when only one is."""
    if lat is not None and lon is not None:
        return lat, lon
    if lat is None and lon is None:
        return None
    missing = "lon" if lon is None else "lat"
    raise FieldInvalid(
        f"query.{missing}",
        f"Give both lat and lon to search near a point, or neither {without}.",
    )
