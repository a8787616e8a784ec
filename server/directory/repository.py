"""All database access for the directory; routes never build queries."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.orm import QueryableAttribute, Session, selectinload

from ..billing.subscriptions import hidden_businesses
from ..db import count_of
from ..deals.models import Deal
from ..folding import like_escaped, words
from .models import Branch, Business, Product

EARTH_RADIUS_KM = 6371.0


@dataclass(frozen=True)
class Near:
    latitude: float
    longitude: float
    radius_km: float


@dataclass(frozen=True)
class Found:
    business: Business
    distance_km: float | None


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def nearness(
    latitude: QueryableAttribute[float | None],
    longitude: QueryableAttribute[float | None],
    near: Near,
) -> tuple[ColumnElement[bool], ColumnElement[float]]:
    """In SQL, for a place at (`latitude`, `longitude`): whether it is within `near`'s
    radius (as `distance_km` measures it), and a key that orders places nearest first (the
    haversine's `a`, which grows with the distance) — so the database filters, counts and
    pages what is near. SQLite gets `sin`, `cos` and `radians` from `db.make_engine`."""
    p1 = math.radians(near.latitude)
    half_dp = (func.radians(latitude) - p1) * 0.5
    half_dl = func.radians(longitude - near.longitude) * 0.5
    a = func.sin(half_dp) * func.sin(half_dp) + math.cos(p1) * func.cos(
        func.radians(latitude)
    ) * func.sin(half_dl) * func.sin(half_dl)
    # distance_km = 2R·asin(√a) ≤ radius  ⇔  a ≤ sin²(radius / 2R), the radius under half the
    # Earth's circumference (asin grows on [0, 1]).
    most = math.sin(near.radius_km / (2 * EARTH_RADIUS_KM)) ** 2
    return and_(latitude.is_not(None), longitude.is_not(None), a <= most), a


def search_businesses(
    session: Session,
    text: str | None,
    category: str | None,
    near: Near | None,
    offset: int,
    limit: int,
) -> tuple[list[Found], int]:
    """Businesses matching text and category; with `near`, only those with a branch in
    the radius, nearest first. Returns one page and the total count."""
    query = (
        select(Business)
        .options(selectinload(Business.branches))
        .where(Business.id.not_in(hidden_businesses()))
    )
    folded = words(text or "")
    query = query.where(*matching(folded))
    if category:
        query = query.where(func.lower(Business.category) == category.lower())
    if near is None:
        total = count_of(session, query)
        page = session.scalars(
            query.order_by(*relevance(folded), Business.name, Business.id)
            .offset(offset)
            .limit(limit)
        )
        return [Found(b, None) for b in page], total
    # A bounding box narrows the candidates in SQL; the exact distance is computed here.
    dlat = math.degrees(near.radius_km / EARTH_RADIUS_KM)
    dlon = dlat / max(math.cos(math.radians(near.latitude)), 0.01)
    in_box = select(Branch.business_id).where(
        Branch.latitude.between(near.latitude - dlat, near.latitude + dlat),
        Branch.longitude.between(near.longitude - dlon, near.longitude + dlon),
    )
    found = []
    for business in session.scalars(query.where(Business.id.in_(in_box))):
        nearest = min(
            distance_km(near.latitude, near.longitude, b.latitude, b.longitude)
            for b in business.branches
        )
        if nearest <= near.radius_km:
            found.append(Found(business, nearest))
    found.sort(key=lambda f: (f.distance_km, f.business.name))
    return found[offset : offset + limit], len(found)


def matching(folded: list[str]) -> list[ColumnElement[bool]]:
    """Businesses whose folded text holds every word of a search (`folding.words`)."""
    return [Business.search_text.like(f"%{like_escaped(w)}%", escape="\\") for w in folded]


def relevance(folded: list[str]) -> list[ColumnElement[int]]:
    """Best matches first: the name is the search, then starts with it, then holds every
    word; a match in the category or description alone comes last."""
    if not folded:
        return []
    whole = " ".join(folded)
    starts = like_escaped(whole)
    in_name = [Business.search_name.like(f"%{like_escaped(w)}%", escape="\\") for w in folded]
    return [
        case(
            (Business.search_name == whole, 0),
            (Business.search_name.like(f"{starts}%", escape="\\"), 1),
            (Business.search_name.like(f"% {starts}%", escape="\\"), 2),
            (and_(*in_name), 3),
            else_=4,
        )
    ]


def get_business(session: Session, business_id: str) -> Business | None:
    return session.get(Business, business_id, options=[selectinload(Business.branches)])


def list_products(session: Session, business_id: str) -> list[Product]:
    query = select(Product).where(Product.business_id == business_id).order_by(Product.name)
    return list(session.scalars(query))


def add_business(
    session: Session,
    owner_id: str,
    name: str,
    category: str,
    description: str,
    currency: str,
    time_zone: str,
) -> Business:
    business = Business(
        owner_id=owner_id,
        name=name,
        category=category,
        description=description,
        currency=currency,
        time_zone=time_zone,
    )
    session.add(business)
    session.flush()
    return business


def add_branch(session: Session, business: Business, **fields: Any) -> Branch:
    branch = Branch(business_id=business.id, **fields)
    session.add(branch)
    session.flush()
    return branch


def add_product(
    session: Session, business: Business, name: str, price_minor: int, attributes: dict[str, Any]
) -> Product:
    product = Product(
        business_id=business.id,
        name=name,
        price_minor=price_minor,
        currency=business.currency,
        attributes=attributes,
    )
    session.add(product)
    session.flush()
    return product


Listing = TypeVar("Listing", Branch, Product)


def listing(
    session: Session, business: Business, kind: type[Listing], item_id: str
) -> Listing | None:
    """A branch or product of `business`; None when it has none with that id."""
    item = session.get(kind, item_id)
    return item if item is not None and item.business_id == business.id else None


def remove_listing(
    session: Session, business: Business, kind: type[Listing], entity: str, item_id: str
) -> bool:
    """Delete a branch or product of `business`; False when it has none with that id."""
    item = listing(session, business, kind, item_id)
    if item is None:
        return False
    session.delete(item)
    session.flush()
    return True


def open_deals(session: Session, business_id: str) -> list[Deal]:
    """The business's deals not yet ended (on sale, or still to start)."""
    query = select(Deal).where(Deal.business_id == business_id, Deal.ended.is_(False))
    return list(session.scalars(query))
