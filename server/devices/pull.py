"""`changes since cursor`, scoped to the device's business, latest state only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..deals.models import Deal, Voucher
from ..directory.models import Branch, Product
from ..wallet.models import GiftCard, LedgerAccount
from .models import Change, OfflineLimits
from .schemas import (
    DEFAULT_OFFLINE_LIMITS,
    BranchState,
    CardState,
    ChangesPage,
    DealState,
    OfflineLimitsBody,
    ProductState,
    VoucherState,
)

__all__ = ["changes_since", "offline_limits"]


def _ids(changes: Sequence[Change], entity: str) -> list[str]:
    return list(dict.fromkeys(c.entity_id for c in changes if c.entity == entity))


def offline_limits(session: Session, business_id: str) -> OfflineLimitsBody:
    """The business's offline limits, or the defaults until the owner sets them."""
    row = session.get(OfflineLimits, business_id)
    if row is None:
        return DEFAULT_OFFLINE_LIMITS
    return OfflineLimitsBody(
        max_single_minor=row.max_single_minor,
        max_per_card_minor=row.max_per_card_minor,
        max_unsynced_minor=row.max_unsynced_minor,
        max_cache_age_seconds=row.max_cache_age_seconds,
        stale_cache_max_minor=row.stale_cache_max_minor,
    )


def changes_since(
    session: Session, business_id: str, cursor: int, limit: int, trust_list: dict[str, Any]
) -> ChangesPage:
    rows = session.scalars(
        select(Change)
        .where(Change.business_id == business_id, Change.seq > cursor)
        .order_by(Change.seq)
        .limit(limit + 1)
    ).all()
    page, more = rows[:limit], len(rows) > limit
    cards = session.execute(
        select(GiftCard, LedgerAccount.balance_minor)
        .join(LedgerAccount, LedgerAccount.id == GiftCard.account_id)
        .where(GiftCard.id.in_(_ids(page, "card")))
    ).all()
    vouchers = session.scalars(select(Voucher).where(Voucher.id.in_(_ids(page, "voucher"))))
    deals = session.scalars(select(Deal).where(Deal.id.in_(_ids(page, "deal"))))
    products = session.scalars(select(Product).where(Product.id.in_(_ids(page, "product"))))
    branches = session.scalars(select(Branch).where(Branch.id.in_(_ids(page, "branch"))))
    return ChangesPage(
        cursor=page[-1].seq if page else cursor,
        more=more,
        cards=[
            CardState(
                id=c.id,
                currency=c.currency,
                balance_minor=balance,
                status=c.status.value,
                expires_at=c.expires_at,
                version=c.version,
            )
            for c, balance in cards
        ],
        vouchers=[
            VoucherState(
                id=v.id,
                deal_id=v.deal_id,
                status=v.status.value,
                face_minor=v.face_minor,
                currency=v.currency,
                expires_at=v.expires_at,
                version=v.version,
            )
            for v in vouchers
        ],
        deals=[
            DealState(
                id=d.id,
                title=d.title,
                deal_price_minor=d.deal_price_minor,
                currency=d.currency,
                starts_at=d.starts_at,
                ends_at=d.ends_at,
                ended=d.ended,
                version=d.version,
            )
            for d in deals
        ],
        products=[
            ProductState(id=p.id, name=p.name, price_minor=p.price_minor, currency=p.currency)
            for p in products
        ],
        branches=[BranchState(id=b.id, name=b.name, address=b.address) for b in branches],
        revoked_token_ids=_ids(page, "revocation"),
        trust_list=trust_list,
        offline_limits=offline_limits(session, business_id),
    )
