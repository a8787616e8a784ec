"""What the directory's routes ask of it beyond reading: a business by id, listing a new
business, removing a branch or product. The refusals are domain errors (`server.errors`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from sync.money import MoneyError, currency

from ..billing import subscriptions as billing
from ..errors import (
    BranchNotFound,
    BusinessNotFound,
    NotFound,
    ProductNotFound,
    UnknownCurrency,
    UnknownTimeZone,
)
from ..zones import zone_named
from . import repository
from .models import Branch, Business, Product

__all__ = [
    "business",
    "close_business",
    "list_business",
    "remove_listing",
    "require_time_zone",
    "update_business",
    "update_listing",
]


def business(session: Session, business_id: str) -> Business:
    """The business with its branches; BusinessNotFound when there is none, or its owner
    closed it."""
    found = repository.get_business(session, business_id)
    if found is None or found.closed_at is not None:
        raise BusinessNotFound(
            f"There is no business {business_id!r}: search the directory for its id."
        )
    return found


def list_business(
    session: Session,
    owner_id: str,
    name: str,
    category: str,
    description: str,
    currency_code: str,
    today: date,
    time_zone: str = "UTC",
) -> Business:
    """A new business of `owner_id`, on the plan billing starts it on."""
    try:
        code = currency(currency_code).code
    except MoneyError as exc:
        raise UnknownCurrency(str(exc)) from None
    require_time_zone(time_zone)
    added = repository.add_business(session, owner_id, name, category, description, code, time_zone)
    billing.start(session, added, today)
    return added


_MISSING: dict[type[Branch | Product], tuple[str, type[NotFound]]] = {
    Branch: ("branch", BranchNotFound),
    Product: ("product", ProductNotFound),
}


def remove_listing(
    session: Session, owner: Business, kind: type[repository.Listing], item_id: str, today: date
) -> None:
    """Remove a branch or product of the business; billing follows."""
    billing.require_editing(session, owner.id)
    entity, missing = _MISSING[kind]
    if not repository.remove_listing(session, owner, kind, entity, item_id):
        raise missing(f"This business has no such {entity}.")
    billing.listing_changed(session, owner.id, today)


def require_time_zone(name: str) -> None:
    """`UnknownTimeZone`, saying what to send, unless `name` is an IANA time zone."""
    if zone_named(name) is None:
        raise UnknownTimeZone(
            f"There is no time zone {name!r}: send an IANA name, spelt as in the tz database "
            "(Europe/Lisbon, America/New_York, UTC)."
        )


def update_business(session: Session, owner: Business, changes: dict[str, Any]) -> Business:
    """Change the business's name, category, description or time zone; its terminals pull
    the change (the business is `Recorded`: its name is on their receipts, and its time
    zone says which day is today at its tills)."""
    if "time_zone" in changes:
        require_time_zone(changes["time_zone"])
    billing.require_editing(session, owner.id)
    for name, value in changes.items():
        setattr(owner, name, value)
    session.flush()
    return owner


def close_business(session: Session, owner: Business, now: datetime) -> None:
    """Remove the business from the directory for good: it leaves search and sells nothing
    new, its deals end, and it is not billed for the months after. Cards and vouchers it
    sold stay redeemable at its tills (customers keep their money), and its records stay
    for its accounts. Closing it again changes nothing."""
    if owner.closed_at is not None:
        return
    owner.closed_at = now
    for deal in repository.open_deals(session, owner.id):
        deal.ended = True
    session.flush()


def update_listing(
    session: Session,
    owner: Business,
    kind: type[repository.Listing],
    item_id: str,
    changes: dict[str, Any],
) -> repository.Listing:
    """Change a branch or product of the business; terminals pull it (both are `Recorded`)."""
    billing.require_editing(session, owner.id)
    entity, missing = _MISSING[kind]
    item = repository.listing(session, owner, kind, item_id)
    if item is None:
        raise missing(f"This business has no such {entity}.")
    for name, value in changes.items():
        setattr(item, name, value)
    session.flush()
    return item
