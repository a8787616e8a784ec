from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from sync.wire import Name

from ..deals.schemas import DealPublic
from ..pages import Page
from ..patches import Body


class Home(Body):
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)


class TastesPublic(BaseModel):
    categories: list[str] = Field(description="categories you like, as the directory names them")
    home: Home | None = Field(description="where /me/deals searches when you give no lat/lon")


# As long as a business's category may be (`BusinessCreate.category`), and not blank.
Category = Annotated[Name, Field(max_length=60)]


class TastesUpdate(Body):
    categories: list[Category] = Field(max_length=20)
    home: Home | None = None


class FavouritePublic(BaseModel):
    business_id: str
    business_name: str
    created_at: datetime


class FavouritePage(Page[FavouritePublic]):
    """Your favourite businesses, newest first."""


class SavedDealPublic(BaseModel):
    deal: DealPublic
    saved_at: datetime


class SavedDealPage(Page[SavedDealPublic]):
    """Your saved deals, newest first (ended ones too, until you remove them)."""


class RankedDeal(DealPublic):
    reasons: list[str] = Field(
        description="why it ranks where it does: `favourite` (its business is one of yours), "
        "`saved` (you saved it), `category` (a category you like), `near` (within the radius)"
    )


class RankedDealPage(Page[RankedDeal]):
    """Deals on sale for you, best first."""
