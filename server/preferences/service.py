"""Favourites, saved deals, tastes — and the deals ranked for a person by them.

`GET /me/deals` takes the deals on sale now that are near the person — within the radius of
the point given, or else of their home — and, wherever they are, a favourite business's
deals and the deals they saved. With neither a point nor a home, it takes those and the
deals in their preferred categories. Each scores 4 for a favourite business, 2 if saved, 1
for a preferred category; best score first, then nearest (unknown distance last), then
soonest ending. docs/api.md states the same rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..billing.subscriptions import hidden_businesses
from ..deals.models import Deal
from ..deals.service import LiveDeal, live_deals, nearest_offering_km
from ..directory.models import Branch, Business
from ..errors import BusinessNotFound, DealNotFound
from ..folding import fold
from .models import FavouriteBusiness, SavedDeal, Tastes

FAVOURITE, SAVED, CATEGORY = 4, 2, 1
_SCORES = {"favourite": FAVOURITE, "saved": SAVED, "category": CATEGORY}


def _keep(session: Session, row: FavouriteBusiness | SavedDeal) -> None:
    """Add `row` unless it is there already: saving twice, even at once, is one save."""
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # there already, or added by a request running beside this one
        pass


def add_favourite(session: Session, user_id: str, business_id: str) -> None:
    listed = session.scalar(
        select(Business.id).where(
            Business.id == business_id, Business.id.not_in(hidden_businesses())
        )
    )
    if listed is None:
        raise BusinessNotFound(f"There is no business {business_id!r} in the directory.")
    if session.get(FavouriteBusiness, (user_id, business_id)) is None:
        _keep(session, FavouriteBusiness(user_id=user_id, business_id=business_id))


def remove_favourite(session: Session, user_id: str, business_id: str) -> None:
    session.execute(
        delete(FavouriteBusiness).where(
            FavouriteBusiness.user_id == user_id, FavouriteBusiness.business_id == business_id
        )
    )


def favourites(session: Session, user_id: str) -> list[tuple[FavouriteBusiness, Business]]:
    query = (
        select(FavouriteBusiness, Business)
        .join(Business, Business.id == FavouriteBusiness.business_id)
        .where(FavouriteBusiness.user_id == user_id)
        .order_by(FavouriteBusiness.created_at.desc(), Business.id)
    )
    return [(f, b) for f, b in session.execute(query).all()]


def save_deal(session: Session, user_id: str, deal_id: str) -> None:
    if session.get(Deal, deal_id) is None:
        raise DealNotFound(f"There is no deal {deal_id!r}.")
    if session.get(SavedDeal, (user_id, deal_id)) is None:
        _keep(session, SavedDeal(user_id=user_id, deal_id=deal_id))


def unsave_deal(session: Session, user_id: str, deal_id: str) -> None:
    session.execute(
        delete(SavedDeal).where(SavedDeal.user_id == user_id, SavedDeal.deal_id == deal_id)
    )


def saved_deals(session: Session, user_id: str) -> list[tuple[SavedDeal, Deal, Business]]:
    query = (
        select(SavedDeal, Deal, Business)
        .join(Deal, Deal.id == SavedDeal.deal_id)
        .join(Business, Business.id == Deal.business_id)
        .where(SavedDeal.user_id == user_id)
        .order_by(SavedDeal.created_at.desc(), Deal.id)
    )
    return [(s, d, b) for s, d, b in session.execute(query).all()]


def tastes(session: Session, user_id: str) -> Tastes:
    return session.get(Tastes, user_id) or Tastes(user_id=user_id, categories=[])


def set_tastes(
    session: Session, user_id: str, categories: list[str], home: tuple[float, float] | None
) -> Tastes:
    found = session.get(Tastes, user_id, with_for_update=True)
    if found is None:
        found = Tastes(user_id=user_id)
        try:
            with session.begin_nested():
                session.add(found)
        except IntegrityError:  # made by a request beside this one: this one's answer wins
            found = session.get(Tastes, user_id, with_for_update=True, populate_existing=True)
            assert found is not None
    # One of each, as the person wrote it first; matched case and accents aside.
    unique = {fold(c): c.strip() for c in reversed(categories) if c.strip()}
    found.categories = sorted(unique.values(), key=fold)
    found.home_latitude, found.home_longitude = home if home else (None, None)
    session.flush()
    return found


@dataclass(frozen=True)
class Ranked:
    live: LiveDeal
    score: int
    reasons: list[str]


def deals_for(
    session: Session,
    user_id: str,
    now: datetime,
    point: tuple[float, float] | None,
    radius_km: float,
) -> list[Ranked]:
    """The deals on sale for this person, best first (the rule is the module's docstring)."""
    liked = tastes(session, user_id)
    if point is None and liked.home_latitude is not None and liked.home_longitude is not None:
        point = (liked.home_latitude, liked.home_longitude)
    favourite = set(
        session.scalars(
            select(FavouriteBusiness.business_id).where(FavouriteBusiness.user_id == user_id)
        )
    )
    saved = set(session.scalars(select(SavedDeal.deal_id).where(SavedDeal.user_id == user_id)))
    categories = {fold(c) for c in liked.categories}
    on_sale = live_deals(session, now, None, None, None)
    branches: dict[str, list[Branch]] = {}
    if point is not None:
        wanted = {live.business.id for live in on_sale}
        for branch in session.scalars(select(Branch).where(Branch.business_id.in_(wanted))):
            branches.setdefault(branch.business_id, []).append(branch)
    ranked = []
    for live in on_sale:
        distance = None
        if point is not None:
            distance = nearest_offering_km(live.deal, branches.get(live.business.id, []), *point)
        reasons = []
        if live.business.id in favourite:
            reasons.append("favourite")
        if live.deal.id in saved:
            reasons.append("saved")
        if fold(live.business.category) in categories:
            reasons.append("category")
        near = distance is not None and distance <= radius_km
        if near:
            reasons.append("near")
        theirs = "favourite" in reasons or "saved" in reasons
        if not (near or theirs or (point is None and reasons)):
            continue
        score = sum(_SCORES.get(r, 0) for r in reasons)
        ranked.append(Ranked(LiveDeal(live.deal, live.business, distance), score, reasons))
    ranked.sort(
        key=lambda r: (
            -r.score,
            r.live.distance_km is None,
            r.live.distance_km or 0.0,
            r.live.deal.ends_at,
            r.live.deal.id,
        )
    )
    return ranked
