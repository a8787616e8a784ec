from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from sync.money import Money

from ..accounts.models import Role
from ..billing import subscriptions as billing
from ..billing.clock import business_today, today
from ..caching import DETAIL_MAX_AGE, LIST_MAX_AGE, NOT_MODIFIED, cacheable
from ..db import SessionDep
from ..deps import CurrentUser, business_for, require_role
from ..problems import Problem
from . import repository, service
from .models import Branch, Product
from .schemas import (
    BranchCreate,
    BranchPublic,
    BusinessCreate,
    BusinessDetail,
    BusinessPage,
    BusinessPublic,
    MoneyPublic,
    ProductCreate,
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


@router.get(
    "",
    summary="Search the directory",
    response_model=BusinessPage,
    description="Every word of `q` must appear in the name, category or description; case "
    "and accents do not matter (`cafe` finds “Café”). Best matches first: the name itself, "
    "then names starting with the words, then names holding them all. Cacheable: send the "
    "ETag back in `If-None-Match` for a 304.",
    responses=NOT_MODIFIED,
)
def search(
    request: Request,
    session: SessionDep,
    q: Annotated[
        str | None,
        Query(max_length=100, description="words in the name, category or description"),
    ] = None,
    category: Annotated[str | None, Query(max_length=60)] = None,
    lat: Annotated[float | None, Query(ge=-90, le=90, description="search near this point")] = None,
    lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
    radius_km: Annotated[float, Query(gt=0, le=500)] = 10,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Response:
    if (lat is None) != (lon is None):
        raise Problem(
            422,
            "invalid-request",
            "The request is not valid",
            "Give both lat and lon to search by distance, or neither.",
        )
    near = None if lat is None or lon is None else repository.Near(lat, lon, radius_km)
    found, total = repository.search_businesses(session, q, category, near, offset, limit)
    page = BusinessPage.of([_public(f, near) for f in found], total, offset, limit)
    return cacheable(request, page, LIST_MAX_AGE)


@router.get(
    "/{business_id}",
    summary="One business with its branches and products",
    response_model=BusinessDetail,
    responses=NOT_MODIFIED,
)
def detail(request: Request, session: SessionDep, business_id: str) -> Response:
    business = service.business(session, business_id)
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
    return cacheable(
        request, BusinessDetail(**public.model_dump(), products=products), DETAIL_MAX_AGE
    )


@router.post("", status_code=status.HTTP_201_CREATED, summary="List your business")
def create_business(
    body: BusinessCreate, request: Request, user: CurrentUser, session: SessionDep
) -> BusinessPublic:
    require_role(user, Role.VENDOR_OWNER)
    business = service.list_business(
        session, user.id, body.name, body.category, body.description, body.currency,
        today(request),
    )  # fmt: skip
    session.commit()
    return _public(repository.Found(business, None), None)


@router.post(
    "/{business_id}/branches",
    status_code=status.HTTP_201_CREATED,
    summary="Add a branch to your business",
)
def create_branch(
    business_id: str, body: BranchCreate, request: Request, user: CurrentUser, session: SessionDep
) -> BranchPublic:
    business = business_for(session, user, business_id, staff=False)
    billing.require_editing(session, business.id)
    branch = repository.add_branch(session, business, **body.model_dump(mode="json"))
    billing.listing_changed(session, business.id, business_today(request, session, business.id))
    session.commit()
    return BranchPublic.model_validate(branch)


@router.delete(
    "/{business_id}/branches/{branch_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Close a branch (billing follows, prorated)",
)
def delete_branch(
    business_id: str, branch_id: str, request: Request, user: CurrentUser, session: SessionDep
) -> None:
    _remove(Branch, business_id, branch_id, request, user, session)


@router.post(
    "/{business_id}/products",
    status_code=status.HTTP_201_CREATED,
    summary="Add a product to your business",
)
def create_product(
    business_id: str, body: ProductCreate, request: Request, user: CurrentUser, session: SessionDep
) -> ProductPublic:
    business = business_for(session, user, business_id, staff=False)
    billing.require_editing(session, business.id)
    product = repository.add_product(
        session, business, body.name, body.price_minor, body.attributes
    )
    billing.listing_changed(session, business.id, business_today(request, session, business.id))
    session.commit()
    return ProductPublic(
        id=product.id,
        name=product.name,
        price=MoneyPublic.of(Money.of(product.price_minor, product.currency)),
        attributes=product.attributes,
    )


@router.delete(
    "/{business_id}/products/{product_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a product (the plan follows the count, after a grace period)",
)
def delete_product(
    business_id: str, product_id: str, request: Request, user: CurrentUser, session: SessionDep
) -> None:
    _remove(Product, business_id, product_id, request, user, session)


def _remove(
    kind: type[repository.Listing],
    business_id: str,
    item_id: str,
    request: Request,
    user: CurrentUser,
    session: SessionDep,
) -> None:
    business = business_for(session, user, business_id, staff=False)
    service.remove_listing(
        session, business, kind, item_id, business_today(request, session, business.id)
    )
    session.commit()
