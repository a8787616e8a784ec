from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from sync.money import Money

from ..billing import subscriptions as billing
from ..billing.clock import business_today, today
from ..caching import DETAIL_MAX_AGE, LIST_MAX_AGE, NOT_MODIFIED, cacheable
from ..db import SessionDep
from ..deps import PROBLEM_RESPONSES, CurrentOwner, ManagedBusiness, OwnedBusiness
from ..places import Latitude, Longitude, point
from . import repository, service
from .models import Branch, Business, Product
from .schemas import (
    BranchCreate,
    BranchPublic,
    BranchUpdate,
    BusinessCreate,
    BusinessDetail,
    BusinessPage,
    BusinessPublic,
    BusinessUpdate,
    MoneyPublic,
    ProductCreate,
    ProductPublic,
    ProductUpdate,
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
        time_zone=business.time_zone,
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
    lat: Latitude = None,
    lon: Longitude = None,
    radius_km: Annotated[float, Query(gt=0, le=500)] = 10,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Response:
    at = point(lat, lon, "for businesses anywhere")
    near = None if at is None else repository.Near(*at, radius_km)
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
    products = [_product_public(p) for p in repository.list_products(session, business_id)]
    public = _public(repository.Found(business, None), None)
    selling = billing.standing(session, business.id).selling
    return cacheable(
        request,
        BusinessDetail(**public.model_dump(), products=products, selling=selling),
        DETAIL_MAX_AGE,
    )


@router.post("", status_code=status.HTTP_201_CREATED, summary="List your business")
def create_business(
    body: BusinessCreate, request: Request, user: CurrentOwner, session: SessionDep
) -> BusinessPublic:
    business = service.list_business(
        session, user.id, body.name, body.category, body.description, body.currency,
        today(request), body.time_zone,
    )  # fmt: skip
    session.commit()
    return _public(repository.Found(business, None), None)


@router.post(
    "/{business_id}/branches",
    status_code=status.HTTP_201_CREATED,
    summary="Add a branch to your business",
)
def create_branch(
    business: ManagedBusiness, body: BranchCreate, request: Request, session: SessionDep
) -> BranchPublic:
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
    business: ManagedBusiness, branch_id: str, request: Request, session: SessionDep
) -> None:
    _remove(Branch, business, branch_id, request, session)


@router.post(
    "/{business_id}/products",
    status_code=status.HTTP_201_CREATED,
    summary="Add a product to your business",
)
def create_product(
    business: ManagedBusiness, body: ProductCreate, request: Request, session: SessionDep
) -> ProductPublic:
    billing.require_editing(session, business.id)
    product = repository.add_product(
        session, business, body.name, body.price_minor, body.attributes
    )
    billing.listing_changed(session, business.id, business_today(request, session, business.id))
    session.commit()
    return _product_public(product)


def _product_public(product: Product) -> ProductPublic:
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
    business: ManagedBusiness, product_id: str, request: Request, session: SessionDep
) -> None:
    _remove(Product, business, product_id, request, session)


def _remove(
    kind: type[repository.Listing],
    business: Business,
    item_id: str,
    request: Request,
    session: SessionDep,
) -> None:
    service.remove_listing(
        session, business, kind, item_id, business_today(request, session, business.id)
    )
    session.commit()


@router.patch(
    "/{business_id}",
    summary="Change your business's name, category, description or time zone",
    description="Send only the fields to change. The currency cannot change (cards and "
    "deals are sold in it). `time_zone` is an IANA name (Europe/Lisbon): your reports' days "
    "and your tills' today's takings run in it. Your terminals show the new name after "
    "their next pull.",
    responses=PROBLEM_RESPONSES,
)
def update_business(
    business: OwnedBusiness, body: BusinessUpdate, session: SessionDep
) -> BusinessPublic:
    service.update_business(session, business, body.changes())
    session.commit()
    return _public(repository.Found(business, None), None)


@router.delete(
    "/{business_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Close your business for good",
    description="It leaves search and sells nothing new; its deals end and it is not "
    "billed for the months after. Cards and vouchers it sold stay redeemable at its tills, "
    "and its records stay for its accounts (you still read its lists). Hibernating "
    "(POST /businesses/{id}/subscription/hibernate) hides it for a while instead.",
)
def close_business(business: OwnedBusiness, session: SessionDep) -> None:
    service.close_business(session, business, datetime.now(UTC))
    session.commit()


@router.patch(
    "/{business_id}/branches/{branch_id}",
    summary="Change a branch: name, address, place, opening hours",
    description="Send only the fields to change; `opening_hours` replaces the whole week. "
    "Your terminals pull the change.",
    responses=PROBLEM_RESPONSES,
)
def update_branch(
    business: ManagedBusiness, branch_id: str, body: BranchUpdate, session: SessionDep
) -> BranchPublic:
    branch = service.update_listing(session, business, Branch, branch_id, body.changes("json"))
    session.commit()
    return BranchPublic.model_validate(branch)


@router.patch(
    "/{business_id}/products/{product_id}",
    summary="Change a product: name, price, attributes",
    description="Send only the fields to change; `attributes` replaces them as a whole. "
    "Your terminals pull the change.",
    responses=PROBLEM_RESPONSES,
)
def update_product(
    business: ManagedBusiness, product_id: str, body: ProductUpdate, session: SessionDep
) -> ProductPublic:
    product = service.update_listing(session, business, Product, product_id, body.changes())
    session.commit()
    return _product_public(product)
