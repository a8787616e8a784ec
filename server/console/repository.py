"""What the console's pages read; pages never build queries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sync.wire import SubscriptionStatus

from ..accounts.models import User
from ..billing.models import Subscription
from ..billing.subscriptions import shown_status
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
    "Listing",
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


@dataclass(frozen=True)
class BusinessFacts:
    business: Business
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


def search_businesses(session: Session, text: str, offset: int) -> Listing[Business]:
    """Every business (suspended and hidden ones too), by the directory's folded search."""
    folded = words(text)
    query = select(Business).where(*matching(folded))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(*relevance(folded), Business.name, Business.id)
        .offset(offset)
        .limit(PAGE_SIZE)
    )
    return Listing(list(rows), total, offset)


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
    return BusinessFacts(
        business,
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
