"""Deals and vouchers: create a deal, list live ones, sell a voucher, redeem it once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from sync.tokens import Kind
from sync.wire import VoucherStatus

from ..billing.subscriptions import hidden_businesses, require_selling
from ..directory.models import Branch, Business
from ..directory.repository import Near, distance_km
from ..errors import (
    DealInThePast,
    DealNotOnSale,
    DealSoldOut,
    OfferedBranchNotFound,
    VoucherExpired,
    VoucherNotFound,
    VoucherUsed,
)
from ..folding import like_escaped, words
from ..keys.keyring import Keyring
from ..wallet import ledger
from ..wallet.ledger import Leg
from ..wallet.models import Purpose, TransferKind
from ..wallet.tokens import presented_subject, sign_token
from .models import Deal, Voucher
from .schemas import DealCreate

__all__ = [
    "LiveDeal",
    "buy_voucher",
    "create_deal",
    "end_deals",
    "find_voucher",
    "live_deals",
    "redeem_presented_voucher",
    "redeem_voucher",
]


def _now() -> datetime:
    return datetime.now(UTC)


def create_deal(session: Session, business: Business, body: DealCreate, now: datetime) -> Deal:
    """A new deal of a business that is selling; DealInThePast when it would end by `now`."""
    require_selling(session, business.id)
    if body.ends_at <= now:
        raise DealInThePast("The end time has passed: choose an end time in the future.")
    branch_ids = list(dict.fromkeys(body.branch_ids))
    if branch_ids:
        own = set(
            session.scalars(
                select(Branch.id).where(
                    Branch.business_id == business.id, Branch.id.in_(branch_ids)
                )
            )
        )
        missing = [b for b in branch_ids if b not in own]
        if missing:
            raise OfferedBranchNotFound(
                f"This business has no branch {', '.join(missing)}: offer the deal at your "
                "own branches (see the business's page for their ids), or at all of them.",
                branch_ids=missing,
            )
    fields = body.model_dump() | {"branch_ids": branch_ids}
    deal = Deal(business_id=business.id, currency=business.currency, **fields)
    session.add(deal)
    session.flush()
    return deal


@dataclass(frozen=True)
class LiveDeal:
    deal: Deal
    business: Business
    distance_km: float | None


def nearest_offering_km(
    deal: Deal, branches: Iterable[Branch], latitude: float, longitude: float
) -> float | None:
    """How far the nearest branch offering `deal` is from a point (None if none does)."""
    distances = [
        distance_km(latitude, longitude, b.latitude, b.longitude)
        for b in branches
        if not deal.branch_ids or b.id in deal.branch_ids
    ]
    return min(distances) if distances else None


def live_deals(
    session: Session,
    now: datetime,
    category: str | None,
    near: Near | None,
    ending_within_seconds: int | None,
    text: str | None = None,
) -> list[LiveDeal]:
    """Deals on sale now, soonest ending first (nearest first when searching near a point);
    with `text`, those whose title, description or business's name hold every word."""
    query = (
        select(Deal, Business)
        .join(Business, Business.id == Deal.business_id)
        .where(Deal.starts_at <= now, Deal.ends_at > now, Deal.ended.is_(False))
        .where(or_(Deal.quantity_limit.is_(None), Deal.sold < Deal.quantity_limit))
        .where(Business.id.not_in(hidden_businesses()))
    )
    if category:
        query = query.where(func.lower(Business.category) == category.lower())
    if ending_within_seconds is not None:
        query = query.where(Deal.ends_at <= now + timedelta(seconds=ending_within_seconds))
    for word in words(text or ""):
        pattern = f"%{like_escaped(word)}%"
        query = query.where(
            or_(
                Deal.search_text.like(pattern, escape="\\"),
                Business.search_name.like(pattern, escape="\\"),
            )
        )
    found = []
    for deal, business in session.execute(query.order_by(Deal.ends_at, Deal.id)).all():
        distance = None
        if near is not None:
            branches = session.scalars(select(Branch).where(Branch.business_id == business.id))
            distance = nearest_offering_km(deal, branches, near.latitude, near.longitude)
            if distance is None or distance > near.radius_km:
                continue
        found.append(LiveDeal(deal, business, distance))
    if near is not None:
        found.sort(key=lambda live: (live.distance_km, live.deal.ends_at))
    return found


def buy_voucher(
    session: Session,
    keyring: Keyring,
    deal: Deal,
    owner_id: str,
    payment_reference: str,
    now: datetime | None = None,
) -> Voucher:
    now = now or _now()
    if not deal.starts_at <= now < deal.ends_at or deal.ended:
        raise DealNotOnSale(
            f"This deal runs from {deal.starts_at:%d %b %H:%M} to {deal.ends_at:%d %b %H:%M} UTC.",
        )
    # Count the sale only while there is stock: the deal's row is locked first, so two
    # buyers of the last voucher take turns and the second finds it sold.
    session.refresh(deal, with_for_update=True)
    if deal.quantity_limit is not None and deal.sold >= deal.quantity_limit:
        raise DealSoldOut("Every voucher of this deal is sold.")
    deal.sold += 1
    voucher = Voucher(
        deal_id=deal.id,
        business_id=deal.business_id,
        owner_id=owner_id,
        face_minor=deal.deal_price_minor,
        currency=deal.currency,
        issued_at=now,
        expires_at=deal.ends_at,
        token_id="",
        token="",
    )
    session.add(voucher)
    session.flush()
    voucher.token_id, voucher.token = sign_token(
        session,
        keyring,
        kind=Kind.VOUCHER,
        business_id=deal.business_id,
        subject_id=voucher.id,
        currency=deal.currency,
        expires_at=deal.ends_at,
        now=now,
        deal_id=deal.id,
        face_minor=deal.deal_price_minor,
    )
    clearing = ledger.clearing_account(session, deal.currency, deal.business_id)
    vouchers = ledger.account(session, Purpose.VOUCHERS, deal.currency, deal.business_id)
    ledger.post(
        session,
        [
            Leg(
                clearing,
                vouchers,
                deal.deal_price_minor,
                TransferKind.VOUCHER_SALE,
                memo=f"voucher {voucher.id}, gateway reference {payment_reference}",
            )
        ],
    )
    return voucher


def find_voucher(
    session: Session,
    keyring: Keyring,
    business: Business,
    token: str | None,
    voucher_id: str | None,
    now: datetime | None = None,
    *,
    for_update: bool = False,
) -> Voucher:
    """The voucher presented at `business`'s till (its QR text or its id); with
    `for_update`, its row locked until the transaction ends."""
    now = now or _now()
    if token is not None:
        voucher_id = presented_subject(session, keyring, business.id, token, Kind.VOUCHER, now)
    voucher = (
        session.get(Voucher, voucher_id, with_for_update=for_update, populate_existing=for_update)
        if voucher_id
        else None
    )
    if voucher is None or voucher.business_id != business.id:
        raise VoucherNotFound("This business has no voucher with that id: check the code.")
    return voucher


def redeem_voucher(
    session: Session, voucher: Voucher, by_user_id: str, now: datetime | None = None
) -> None:
    """Mark the voucher used — once, even if two tills scan it at the same moment."""
    # The voucher's row is locked first: of two tills scanning it at once, the second
    # waits, then finds it used.
    session.refresh(voucher, with_for_update=True)
    _spend(session, voucher, by_user_id, now or _now())


def _spend(session: Session, voucher: Voucher, by_user_id: str, now: datetime) -> None:
    """Mark the voucher, its row locked by the caller, used, and post its value to the
    business's revenue."""
    if voucher.expires_at <= now:
        raise VoucherExpired(f"This voucher's deal ended on {voucher.expires_at:%d %B %Y}.")
    if voucher.status is not VoucherStatus.ISSUED:
        when = f" on {voucher.redeemed_at:%d %B %Y at %H:%M} UTC" if voucher.redeemed_at else ""
        raise VoucherUsed(
            f"This voucher was already redeemed{when}: it can be used once.",
        )
    voucher.status, voucher.redeemed_at, voucher.redeemed_by = (
        VoucherStatus.REDEEMED,
        now,
        by_user_id,
    )
    vouchers = ledger.account(session, Purpose.VOUCHERS, voucher.currency, voucher.business_id)
    revenue = ledger.account(session, Purpose.REVENUE, voucher.currency, voucher.business_id)
    ledger.post(
        session,
        [
            Leg(
                vouchers,
                revenue,
                voucher.face_minor,
                TransferKind.VOUCHER_REDEMPTION,
                memo=f"voucher {voucher.id}",
            )
        ],
    )


def redeem_presented_voucher(
    session: Session,
    keyring: Keyring,
    business: Business,
    token: str | None,
    voucher_id: str | None,
    by: str,
) -> Voucher:
    """Redeem the voucher presented at `business`'s till (its QR text or its id), as the
    till's and the terminals' online redemptions both do; `by` is the user or terminal.
    Its row is locked as it is read (one statement, not a read and a locking read)."""
    now = _now()
    voucher = find_voucher(session, keyring, business, token, voucher_id, now, for_update=True)
    _spend(session, voucher, by, now)
    return voucher


def end_deals(session: Session, now: datetime | None = None) -> int:
    """Mark deals past their end as ended (the listing and sync see it); how many."""
    now = now or _now()
    due = session.scalars(select(Deal).where(Deal.ends_at <= now, Deal.ended.is_(False))).all()
    for deal in due:
        deal.ended = True
    session.flush()
    return len(due)
