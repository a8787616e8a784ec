"""The price list a new database starts with. Prices live in the `billing_prices` table
(operators change them there); this is only what an empty table is filled with. Their
currency is the `billing_currency` setting, the one source of it: a price list in another
currency is refused rather than billed from."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from sync.wire import PriceKind

from .models import PriceItem

__all__ = ["DEFAULT_PRICES", "PriceListError", "ensure_prices"]

# code, kind, name, a month in minor units of the billing currency, product limit
# (None: unlimited), rank
DEFAULT_PRICES: list[tuple[str, PriceKind, str, int, int | None, int]] = [
    ("starter", PriceKind.PLAN, "Starter", 100, 10, 1),
    ("pro", PriceKind.PLAN, "Pro", 300, 100, 2),
    ("enterprise", PriceKind.PLAN, "Enterprise", 500, None, 3),
    ("extra_branch", PriceKind.ADDON, "Extra branch", 100, None, 0),
    ("hibernate", PriceKind.ADDON, "Hibernation", 50, None, 0),
]


class PriceListError(ValueError):
    """The stored price list is not in the billing currency; the message says what to do."""


def ensure_prices(session: Session, currency: str) -> None:
    """Fill an empty price list with the defaults in `currency` (the `billing_currency`
    setting); a list with anything in it is left alone, but must be in that currency. Safe
    from several processes at once (the workers of a first start): a price another one
    stored first is kept, not an error."""
    stored = _currencies(session)
    if not stored:
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        rows = [
            {
                "code": code,
                "kind": kind,
                "name": name,
                "price_minor": price,
                "currency": currency,
                "max_products": limit,
                "rank": rank,
            }
            for code, kind, name, price, limit, rank in DEFAULT_PRICES
        ]
        session.execute(dialect.insert(PriceItem).values(rows).on_conflict_do_nothing())
        session.commit()
        stored = _currencies(session)  # another process's, had it come first
    if stored - {currency}:
        raise PriceListError(
            f"the price list is in {', '.join(sorted(stored))} but the billing currency "
            f"(TILLPOINT_BILLING_CURRENCY) is {currency}: set it to the price list's currency, "
            "or reprice the list in billing_prices"
        )


def _currencies(session: Session) -> set[str]:
    return set(session.scalars(select(PriceItem.currency).distinct()))
