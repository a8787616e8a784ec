"""What the console's pages read; pages never build queries."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sync.wire import SubscriptionStatus

from ..accounts.models import User
from ..billing.models import Subscription
from ..billing.subscriptions import hidden_businesses, shown_status
from ..deals.models import Deal
from ..directory.models import Branch, Business, Product
from ..directory.repository import matching, relevance
from ..folding import words
from .models import AdminAction

__all__ = [
    "MAX_OFFSET",
    "PAGE_SIZE",
    "AuditLine",
    "BusinessFacts",
    "FoundBusiness",
    "HiddenBecause",
    "Listing",
    "Visibility",
    "audit_log",
    "business_facts",
    "search_businesses",
]

PAGE_SIZE = 25
MAX_OFFSET = 1_000_000  # the furthest a page may start: an OFFSET costs rows skipped
Row = TypeVar("Row")


@dataclass(frozen=True)
class Listing(Generic[Row]):
    """One page of a list, and where the pages before and after it start."""

    rows: list[Row]
    total: int
    offset: int

    @property
    def next_offset(self) -> int | None:
        return self.offset + PAGE_SIZE if self.offset + PAGE_SIZE < self.total else None

    @property
    def previous_offset(self) -> int | None:
        if self.past_end:
            return None  # no page before this one has rows either: the pager says where
        return max(self.offset - PAGE_SIZE, 0) if self.offset > 0 else None

    @property
    def past_end(self) -> bool:
        """Whether this page starts after the last row (an old link, an edited address)."""
        return self.offset > 0 and self.offset >= self.total

    @property
    def last_offset(self) -> int:
        """Where the last page starts."""
        return max(self.total - 1, 0) // PAGE_SIZE * PAGE_SIZE


class HiddenBecause(enum.StrEnum):
    """Why the public does not see a business, in the console's words: each cause billing's
    `hidden_businesses` hides one for (the directory's search and the deals list)."""

    CLOSED = "closed by its owner"
    SUSPENDED = "suspended by an operator"
    LAPSED = "subscription lapsed: an invoice is unpaid"
    HIBERNATING = "hibernating"

    @property
    def until(self) -> str:
        """What lists it again, in words."""
        return _UNTIL[self]


_UNTIL = {
    HiddenBecause.CLOSED: "for good",
    HiddenBecause.SUSPENDED: "until an operator restores it",
    HiddenBecause.LAPSED: "until its owner pays the invoice",
    HiddenBecause.HIBERNATING: "until its owner wakes it",
}


@dataclass(frozen=True)
class Visibility:
    """How the public sees a business. `listed` is the directory's own rule (billing's
    `hidden_businesses`, as public search applies it), so the console cannot say "Listed"
    of a business the public does not see; `because` names each cause that holds."""

    listed: bool
    because: tuple[HiddenBecause, ...] = ()

    @property
    def words(self) -> str:
        """`Listed`, or `Hidden — subscription lapsed: an invoice is unpaid` (every cause)."""
        if self.listed:
            return "Listed"
        return "Hidden — " + "; ".join(self.because) if self.because else "Hidden"


def _visibility(business: Business, subscription: Subscription | None, hidden: bool) -> Visibility:
    if not hidden:
        return Visibility(True)
    causes = {
        HiddenBecause.CLOSED: business.closed_at is not None,
        HiddenBecause.SUSPENDED: business.suspended_at is not None,
        HiddenBecause.LAPSED: subscription is not None
        and subscription.status is SubscriptionStatus.SUSPENDED,
        HiddenBecause.HIBERNATING: subscription is not None and subscription.hibernating,
    }
    return Visibility(False, tuple(cause for cause, holds in causes.items() if holds))


@dataclass(frozen=True)
class FoundBusiness:
    business: Business
    seen: Visibility  # by the public


@dataclass(frozen=True)
class BusinessFacts:
    business: Business
    seen: Visibility  # by the public
    owner_email: str | None
    subscription: Subscription | None
    subscription_status: SubscriptionStatus | None  # as its owner is shown it: closed, once
    branches: int
    products: int
    open_deals: int


@dataclass(frozen=True)
class AuditLine:
    action: AdminAction
    admin_email: str


def search_businesses(session: Session, text: str, offset: int) -> Listing[FoundBusiness]:
    """Every business (suspended and hidden ones too), by the directory's folded search,
    each with how the public sees it."""
    folded = words(text)
    total = session.scalar(select(func.count()).select_from(Business).where(*matching(folded))) or 0
    rows = session.execute(
        select(Business, Subscription, Business.id.in_(hidden_businesses()))
        .outerjoin(Subscription, Subscription.business_id == Business.id)
        .where(*matching(folded))
        .order_by(*relevance(folded), Business.name, Business.id)
        .offset(offset)
        .limit(PAGE_SIZE)
    )
    found = [
        FoundBusiness(business, _visibility(business, subscription, bool(hidden)))
        for business, subscription, hidden in rows
    ]
    return Listing(found, total, offset)


def _count(session: Session, model: type[Branch] | type[Product], business_id: str) -> int:
    return session.scalar(select(func.count()).where(model.business_id == business_id)) or 0


def business_facts(session: Session, business_id: str) -> BusinessFacts | None:
    business = session.get(Business, business_id)
    if business is None:
        return None
    owner = session.get(User, business.owner_id) if business.owner_id else None
    open_deals = session.scalar(
        select(func.count()).where(Deal.business_id == business_id, Deal.ended.is_(False))
    )
    subscription = session.get(Subscription, business_id)
    hidden = session.scalar(hidden_businesses().where(Business.id == business_id)) is not None
    return BusinessFacts(
        business,
        _visibility(business, subscription, hidden),
        owner.email if owner else None,
        subscription,
        shown_status(session, subscription) if subscription else None,
        _count(session, Branch, business_id),
        _count(session, Product, business_id),
        open_deals or 0,
    )


def audit_log(session: Session, offset: int, target_id: str | None = None) -> Listing[AuditLine]:
    """Admins' actions, latest first; with `target_id`, only those on that target."""
    query = select(AdminAction, User.email).join(User, User.id == AdminAction.admin_id)
    if target_id is not None:
        query = query.where(AdminAction.target_id == target_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(
        query.order_by(AdminAction.at.desc(), AdminAction.id.desc()).offset(offset).limit(PAGE_SIZE)
    )
    return Listing([AuditLine(action, email) for action, email in rows], total, offset)
