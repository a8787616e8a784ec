"""The business's listings as this terminal knows them: products, deals and branches as last
synced, with the vendor's edits made here and not yet synced laid over them; the plan and
the offline limits. Screens show these typed rows and edit through the functions here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sync.money import Money
from sync.tokens import id_text, new_id
from sync.wire import MAX_AMOUNT, BranchEdit, DealEdit, OfflineLimitsBody, TerminalEvent

from .kinds import NewerValue, SubscriptionStatus
from .store import TerminalStore
from .suspension import refuse_edits

__all__ = [
    "Branch",
    "Deal",
    "ListingState",
    "ListingValueError",
    "Plan",
    "Product",
    "branches",
    "currency",
    "deals",
    "edit_branch",
    "edit_deal_title",
    "edit_product",
    "offline_limits",
    "plan",
    "products",
]

DEFAULT_CURRENCY = "GBP"  # before the first sync brings anything priced


class ListingValueError(ValueError):
    """A listing edit the server's sync would refuse, caught before it is queued; the
    message says why, in words."""


class ListingState(StrEnum):
    SYNCED = "synced"
    EDITED = "edited"  # changed here, waiting to sync
    NEW = "new"  # made here, waiting to sync
    ON_SALE = "on_sale"
    ENDED = "ended"


@dataclass(frozen=True)
class Product:
    id: str
    name: str
    price: Money
    version: int | None  # the server's version the edits apply to; None for a new one
    state: ListingState


@dataclass(frozen=True)
class Deal:
    id: str
    title: str
    price: Money
    ends_at: datetime
    version: int
    state: ListingState


@dataclass(frozen=True)
class Branch:
    name: str
    address: str
    id: str = ""
    opening_hours: dict[str, Any] | None = None  # as `hours.parse_hours` gives; None: closed
    version: int = 1
    state: ListingState = ListingState.SYNCED
    here: bool = False  # the branch this till serves


@dataclass(frozen=True)
class Plan:
    name: str
    max_products: int | None  # None: unlimited
    status: SubscriptionStatus | NewerValue


def currency(store: TerminalStore) -> str:
    """The business's currency, from what it sells."""
    listed = store.products() or store.deals()
    return listed[0].currency if listed else DEFAULT_CURRENCY


def products(store: TerminalStore) -> list[Product]:
    """Every product, synced ones by name, then those made here and not yet synced."""
    edits = store.pending_product_edits()
    code = currency(store)
    rows = []
    for product in store.products():
        edit = edits.pop(product.id, None)
        name, price_minor = (
            (edit.name, edit.price_minor) if edit else (product.name, product.price_minor)
        )
        rows.append(
            Product(
                product.id,
                name,
                Money.of(price_minor, code),
                product.version,
                ListingState.EDITED if edit else ListingState.SYNCED,
            )
        )
    rows.extend(
        Product(product_id, edit.name, Money.of(edit.price_minor, code), None, ListingState.NEW)
        for product_id, edit in edits.items()
    )
    return rows


def deals(store: TerminalStore) -> list[Deal]:
    edits = store.pending_deal_edits()
    rows = []
    for deal in store.deals():
        edit = edits.get(deal.id)
        if edit:
            state = ListingState.EDITED
        else:
            state = ListingState.ENDED if deal.ended else ListingState.ON_SALE
        rows.append(
            Deal(
                deal.id,
                edit.title if edit and edit.title is not None else deal.title,
                Money.of(deal.deal_price_minor, deal.currency),
                deal.ends_at,
                deal.version,
                state,
            )
        )
    return rows


def branches(store: TerminalStore) -> list[Branch]:
    """The business's branches as last synced, with edits made here laid over them."""
    edits = store.pending_branch_edits()
    own = store.till_branch()
    rows = []
    for branch in store.branches():
        edit = edits.get(branch.id)
        name, address, hours = branch.name, branch.address, branch.opening_hours
        if edit is not None:
            name = edit.name if edit.name is not None else name
            address = edit.address if edit.address is not None else address
            if edit.opening_hours is not None:
                hours = edit.to_json()["opening_hours"]
        rows.append(
            Branch(
                name,
                address,
                branch.id,
                hours,
                branch.version,
                ListingState.EDITED if edit else ListingState.SYNCED,
                branch.id == own,
            )
        )
    return rows


def plan(store: TerminalStore) -> Plan | None:
    state = store.plan()
    if state is None:
        return None
    return Plan(state.name, state.max_products, state.status)


def offline_limits(store: TerminalStore) -> OfflineLimitsBody | None:
    """What the business's terminals may approve offline, as this terminal last synced it."""
    return store.offline_limits()


def edit_product(
    store: TerminalStore, product: Product | None, name: str, price: Money
) -> TerminalEvent:
    """Queue a new product (`product` None) or an edit of one, for the next sync; raises
    ListingEditsPausedError while the business is suspended, and ListingValueError for a
    price the server's sync refuses (below zero, above `MAX_AMOUNT`), before anything is
    queued."""
    refuse_edits(store)
    if price.is_negative:
        raise ListingValueError("a price cannot be negative")
    if price.minor > MAX_AMOUNT:
        most = Money(MAX_AMOUNT, price.currency).format()
        raise ListingValueError(f"a price can be at most {most} (the server takes no more)")
    if product is None:
        return store.record_product_edit(id_text(new_id()), name, price.minor, None)
    return store.record_product_edit(product.id, name, price.minor, product.version)


def edit_branch(
    store: TerminalStore,
    branch: Branch,
    name: str,
    address: str,
    opening_hours: dict[str, Any],
) -> TerminalEvent:
    """Queue a branch's new name, address and hours (`hours.parse_hours`) for the next sync;
    the server applies them to the version they were made on. Raises ValueError (pydantic's)
    when one of them does not fit, and ListingEditsPausedError while the business is
    suspended, before anything is queued."""
    refuse_edits(store)
    edit = BranchEdit.model_validate(
        {
            "branch_id": branch.id,
            "base_version": branch.version,
            "name": name,
            "address": address,
            "opening_hours": opening_hours,
        }
    )
    return store.record_branch_edit(edit)


def edit_deal_title(store: TerminalStore, deal: Deal, title: str) -> TerminalEvent:
    """Queue a deal's new title; raises ListingEditsPausedError while it is suspended."""
    refuse_edits(store)
    return store.record_deal_edit(DealEdit(deal_id=deal.id, title=title, base_version=deal.version))
