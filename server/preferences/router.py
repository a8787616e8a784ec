"""A customer's favourites, saved deals and tastes, and the deals ranked for them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from ..db import SessionDep
from ..deals.schemas import deal_public
from ..deps import CurrentUser
from ..places import Latitude, Longitude, point
from . import service
from .models import Tastes
from .schemas import (
    FavouritePage,
    FavouritePublic,
    Home,
    RankedDeal,
    RankedDealPage,
    SavedDealPage,
    SavedDealPublic,
    TastesPublic,
    TastesUpdate,
)

router = APIRouter(prefix="/me", tags=["preferences"])

Offset = Annotated[int, Query(ge=0, le=1_000_000)]
Limit = Annotated[int, Query(ge=1, le=100)]


@router.get("/favourites", summary="Your favourite businesses, newest first")
def list_favourites(
    user: CurrentUser, session: SessionDep, offset: Offset = 0, limit: Limit = 20
) -> FavouritePage:
    found = service.favourites(session, user.id)
    items = [
        FavouritePublic(business_id=b.id, business_name=b.name, created_at=f.created_at)
        for f, b in found[offset : offset + limit]
    ]
    return FavouritePage.of(items, len(found), offset, limit)


@router.put(
    "/favourites/{business_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Make a business a favourite (again: no change)",
)
def add_favourite(business_id: str, user: CurrentUser, session: SessionDep) -> Response:
    service.add_favourite(session, user.id, business_id)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete(
    "/favourites/{business_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="No longer a favourite (not one: no change)",
)
def remove_favourite(business_id: str, user: CurrentUser, session: SessionDep) -> Response:
    service.remove_favourite(session, user.id, business_id)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/saved-deals", summary="Deals you saved, newest first")
def list_saved_deals(
    user: CurrentUser, session: SessionDep, offset: Offset = 0, limit: Limit = 20
) -> SavedDealPage:
    now = datetime.now(UTC)
    found = service.saved_deals(session, user.id)
    items = [
        SavedDealPublic(deal=deal_public(d, b, now), saved_at=s.created_at)
        for s, d, b in found[offset : offset + limit]
    ]
    return SavedDealPage.of(items, len(found), offset, limit)


@router.put(
    "/saved-deals/{deal_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Save a deal for later (again: no change)",
)
def save_deal(deal_id: str, user: CurrentUser, session: SessionDep) -> Response:
    service.save_deal(session, user.id, deal_id)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete(
    "/saved-deals/{deal_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Forget a saved deal (not saved: no change)",
)
def unsave_deal(deal_id: str, user: CurrentUser, session: SessionDep) -> Response:
    service.unsave_deal(session, user.id, deal_id)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _tastes(found: Tastes) -> TastesPublic:
    home = None
    if found.home_latitude is not None and found.home_longitude is not None:
        home = Home(latitude=found.home_latitude, longitude=found.home_longitude)
    return TastesPublic(categories=list(found.categories or []), home=home)


@router.get("/tastes", summary="Your preferred categories and home location")
def get_tastes(user: CurrentUser, session: SessionDep) -> TastesPublic:
    return _tastes(service.tastes(session, user.id))


@router.put(
    "/tastes",
    summary="Set your preferred categories and home location (the whole of both)",
)
def set_tastes(body: TastesUpdate, user: CurrentUser, session: SessionDep) -> TastesPublic:
    home = None if body.home is None else (body.home.latitude, body.home.longitude)
    found = service.set_tastes(session, user.id, list(body.categories), home)
    session.commit()
    return _tastes(found)


@router.get(
    "/deals",
    summary="Deals on sale for you, best first",
    description="Near you (`lat`/`lon`, else your home) and, wherever they are, your "
    "favourite businesses' deals and the deals you saved; with no location at all, those "
    "and the deals in your categories. Scored 4 for a favourite business, 2 if saved, 1 for "
    "a category you like; best score first, then nearest, then soonest ending. Each deal "
    "says why in `reasons`.",
)
def deals_for_me(
    user: CurrentUser,
    session: SessionDep,
    lat: Latitude = None,
    lon: Longitude = None,
    radius_km: Annotated[float, Query(gt=0, le=500)] = 10,
    offset: Offset = 0,
    limit: Limit = 20,
) -> RankedDealPage:
    now = datetime.now(UTC)
    near = point(lat, lon, "to search near your home")
    ranked = service.deals_for(session, user.id, now, near, radius_km)
    items = [
        RankedDeal(
            **deal_public(r.live.deal, r.live.business, now, r.live.distance_km).model_dump(),
            reasons=r.reasons,
        )
        for r in ranked[offset : offset + limit]
    ]
    return RankedDealPage.of(items, len(ranked), offset, limit)
