"""The price list a new database starts with. Prices live in the `billing_prices` table
(operators change them there); this is only what an empty table is filled with."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .models import PriceItem, PriceKind

__all__ = ["DEFAULT_PRICES", "ensure_prices"]

# code, kind, name, a month in minor units of GBP, product limit (None: unlimited), rank
DEFAULT_PRICES: list[tuple[str, PriceKind, str, int, int | None, int]] = [
    ("starter", PriceKind.PLAN, "Starter", 100, 10, 1),
    ("pro", PriceKind.PLAN, "Pro", 300, 100, 2),
    ("enterprise", PriceKind.PLAN, "Enterprise", 500, None, 3),
    ("extra_branch", PriceKind.ADDON, "Extra branch", 100, None, 0),
    ("hibernate", PriceKind.ADDON, "Hibernation", 50, None, 0),
]


def ensure_prices(session: Session) -> None:
    """Fill an empty price list with the defaults; a list with anything in it is left alone."""
    if session.scalar(select(func.count()).select_from(PriceItem)):
        return
    session.add_all(
        PriceItem(
            code=code,
            kind=kind,
            name=name,
            price_minor=price,
            currency="GBP",
            max_products=limit,
            rank=rank,
        )
        for code, kind, name, price, limit, rank in DEFAULT_PRICES
    )
    session.commit()
