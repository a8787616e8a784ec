from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from sync.wire import MoneyPublic as MoneyPublic  # the wire's amount, re-exported


class BranchPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    address: str
    latitude: float
    longitude: float
    opening_hours: dict[str, Any]
    distance_km: float | None = None


class ProductPublic(BaseModel):
    id: str
    name: str
    price: MoneyPublic
    attributes: dict[str, Any]


class BusinessPublic(BaseModel):
    id: str
    name: str
    category: str
    description: str
    currency: str
    branches: list[BranchPublic]
    distance_km: float | None = Field(
        default=None, description="to the nearest branch, when searching by distance"
    )


class BusinessPage(BaseModel):
    items: list[BusinessPublic]
    total: int
    next_offset: int | None = Field(description="offset of the next page, or null at the end")


class BusinessDetail(BusinessPublic):
    products: list[ProductPublic]


class BusinessCreate(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    category: str = Field(min_length=1, max_length=60)
    description: str = Field(default="", max_length=2000)
    currency: str = Field(min_length=3, max_length=3, description="ISO 4217, e.g. GBP")


class BranchCreate(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    address: str = Field(min_length=1, max_length=500)
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    opening_hours: dict[str, str] = Field(default_factory=dict, examples=[{"mon": "08:00-18:00"}])


class ProductCreate(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    price_minor: int = Field(ge=0, le=10**10, description="in the business's currency")
    attributes: dict[str, Any] = Field(default_factory=dict)
