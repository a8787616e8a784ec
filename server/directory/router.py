from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from sync.money import Money

from ..db import SessionDep
from ..problems import Problem
from . import repository
from .models import Business
from .schemas import (
    BranchPublic,
    BusinessDetail,
    BusinessPage,
    BusinessPublic,
    MoneyPublic,
    ProductPublic,
)

router = APIRouter(prefix="/businesses", tags=["directory"])


def _public(found: repository.Found, near: repository.Near | None) -> BusinessPublic:
    business = found.business
    branches = []
    for branch in business.branches:
        public = BranchPublic.model_validate(branch)
        if near is not None:
            public.distance_km = round(
                repository.distance_km(
                    near.latitude, near.longitude, branch.latitude, branch.longitude
                ),
                3,
            )
        branches.append(public)
    return BusinessPublic(
        id=business.id,
        name=business.name,
        category=business.category,
        description=business.description,
        currency=business.currency,
        branches=branches,
        distance_km=None if found.distance_km is None else round(found.distance_km, 3),
    )


@router.get("", summary="Search the directory")
def search(
    session: SessionDep,
    q: Annotated[
        str | None, Query(max_length=100, description="words in name or description")
    ] = None,
    category: Annotated[str | None, Query(max_length=60)] = None,
    lat: Annotated[float | None, Query(ge=-90, le=90, description="search near this point")] = None,
    lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
    radius_km: Annotated[float, Query(gt=0, le=500)] = 10,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> BusinessPage:
    if (lat is None) != (lon is None):
        raise Problem(
            422,
            "invalid-request",
            "The request is not valid",
            "Give both lat and lon to search by distance, or neither.",
        )
    near = None if lat is None or lon is None else repository.Near(lat, lon, radius_km)
    found, total = repository.search_businesses(session, q, category, near, offset, limit)
    next_offset = offset + limit if offset + limit < total else None
    return BusinessPage(
        items=[_public(f, near) for f in found], total=total, next_offset=next_offset
    )


@router.get("/{business_id}", summary="One business with its branches and products")
def detail(session: SessionDep, business_id: str) -> BusinessDetail:
    business: Business | None = repository.get_business(session, business_id)
    if business is None:
        raise Problem(
            404,
            "business-not-found",
            "No such business",
            f"There is no business {business_id!r}: search the directory for its id.",
        )
    products = [
        ProductPublic(
            id=p.id,
            name=p.name,
            price=MoneyPublic.of(Money.of(p.price_minor, p.currency)),
            attributes=p.attributes,
        )
        for p in repository.list_products(session, business_id)
    ]
    public = _public(repository.Found(business, None), None)
    return BusinessDetail(**public.model_dump(), products=products)
