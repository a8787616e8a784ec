from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from sync.wire import JsonObject, Line, Name, Prose, json_fits
from sync.wire import MoneyPublic as MoneyPublic  # the wire's amount, re-exported
from sync.wire import OpeningHours as OpeningHours  # shared with the terminals' branch edits
from sync.wire import OpeningPeriod as OpeningPeriod
from sync.wire import Weekday as Weekday

from ..pages import Page
from ..patches import Body, Patch
from ..zones import MAX_ZONE_NAME


def _shown(value: Any) -> Any:
    """Stored JSON as a page shows it: what does not fit today's bounds (a row stored before
    they existed) is left out, rather than break every page of the business."""
    return value if json_fits(value) else {}


ShownJson = Annotated[dict[str, Any], BeforeValidator(_shown)]


class BranchPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    address: str
    latitude: float
    longitude: float
    opening_hours: ShownJson
    distance_km: float | None = None


class ProductPublic(BaseModel):
    id: str
    name: str
    price: MoneyPublic
    attributes: ShownJson


class BusinessPublic(BaseModel):
    id: str
    name: str
    category: str
    description: str
    currency: str
    time_zone: str = Field(description="IANA name: its days (reports, today's takings) run here")
    branches: list[BranchPublic]
    distance_km: float | None = Field(
        default=None, description="to the nearest branch, when searching by distance"
    )


class BusinessPage(Page[BusinessPublic]):
    """One page of the directory."""


class BusinessDetail(BusinessPublic):
    products: list[ProductPublic]
    selling: bool = Field(
        description="false: no new gift cards, deals or vouchers for now (hibernating or "
        "suspended); what was bought still works at its tills"
    )


class BusinessCreate(Body):
    name: Name = Field(max_length=120)
    category: Name = Field(max_length=60)
    description: Prose = Field(default="", max_length=2000)
    currency: Line = Field(min_length=3, max_length=3, description="ISO 4217, e.g. GBP")
    time_zone: Line = Field(
        default="UTC",
        max_length=MAX_ZONE_NAME,
        description="IANA name, e.g. Europe/Lisbon: its reports' days and its tills' today",
    )


class BranchCreate(Body):
    name: Name = Field(max_length=120)
    address: Prose = Field(min_length=1, max_length=500)
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    opening_hours: OpeningHours = Field(
        default_factory=dict,
        description="days it opens (mon … sun), each with up to 4 periods; a day left out is "
        "closed",
        examples=[
            {"mon": [{"opens": "08:00", "closes": "12:30"}, {"opens": "13:30", "closes": "18:00"}]}
        ],
    )


class ProductCreate(Body):
    name: Name = Field(max_length=120)
    price_minor: int = Field(strict=True, ge=0, le=10**10, description="in the business's currency")
    attributes: JsonObject = Field(
        default_factory=dict,
        description="free-form JSON object: at most 5 levels deep and 16,000 characters, "
        "keys up to 100 characters, strings up to 2,000",
    )


class BusinessUpdate(Patch):
    """What an owner may change of their business; its currency stays (money is held in it)."""

    name: Name | None = Field(default=None, max_length=120)
    category: Name | None = Field(default=None, max_length=60)
    description: Prose | None = Field(default=None, max_length=2000)
    time_zone: Line | None = Field(
        default=None, max_length=MAX_ZONE_NAME, description="IANA name, e.g. Europe/Lisbon"
    )


class BranchUpdate(Patch):
    name: Name | None = Field(default=None, max_length=120)
    address: Prose | None = Field(default=None, min_length=1, max_length=500)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    opening_hours: OpeningHours | None = Field(
        default=None, description="the whole week: a day left out is closed"
    )


class ProductUpdate(Patch):
    name: Name | None = Field(default=None, max_length=120)
    price_minor: int | None = Field(
        default=None, strict=True, ge=0, le=10**10, description="in the business's currency"
    )
    attributes: JsonObject | None = Field(
        default=None, description="replaces the attributes as a whole"
    )
