"""Deals and vouchers: create a deal, list live ones, sell a voucher, redeem it once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from sync.money import Money
from sync.tokens import Kind
from sync.wire import VoucherStatus

from ..billing.subscriptions import hidden_businesses, require_editing, require_selling
from ..db import count_of
from ..directory.models import Branch, Business
from ..directory.repository import Near, distance_km
from ..errors import (
    DealChanged,
    DealClosed,
    DealInThePast,
    DealNotFound,
    DealNotOnSale,
    DealSoldOut,
    InvalidDealTerms,
    OfferedBranchNotFound,
    QuantityBelowSold,
    VoucherExpired,
    VoucherNotFound,
    VoucherUsed,
)
from ..events import add_with_commit
from ..folding import like_escaped, words
from ..ids import make_id
from ..keys.keyring import Keyring
from ..payments import PaymentGateway, take_payment
from ..preconditions import Precondition
from ..wallet import ledger
from ..wallet.cards import paid_by
from ..wallet.ledger import NOWHERE, Leg, Origin
from ..wallet.models import LedgerAccount, Purpose, TransferKind
from ..wallet.purchase import Paid, owe_back
from ..wallet.tokens import presented_subject, sign_token
from .models import Deal, Voucher
from .schemas import DealCreate, DealStatus, terms_problem

__all__ = [
    "LiveDeal",
    "buy_voucher",
    "cancel_deal",
    "create_deal",
    "end_deals",
    "find_voucher",
    "live_deals",
    "own_deal",
    "own_deals",
    "redeem_presented_voucher",
    "redeem_voucher",
    "update_deal",
    "vouchers_of",
    "vouchers_sold",
]


def _now() -> datetime:
    return datetime.now(UTC)


def create_deal(session: Session, business: Business, body: DealCreate, now: datetime) -> Deal:
    """A new deal of a business that is selling; DealInThePast when it would end by `now`."""
    require_selling(session, business.id, buyer=False)
    if body.ends_at <= now:
        raise DealInThePast("The end time has passed: choose an end time in the future.")
    branch_ids = _own_branches(session, business, body.branch_ids)
    fields = body.model_dump() | {"branch_ids": branch_ids}
    deal = Deal(business_id=business.id, currency=business.currency, **fields)
    session.add(deal)
    session.flush()
    return deal


def _own_branches(session: Session, business: Business, branch_ids: list[str]) -> list[str]:
    """The branch ids once each; OfferedBranchNotFound naming any not of `business`."""
    branch_ids = list(dict.fromkeys(branch_ids))
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
    return branch_ids


def own_deal(session: Session, business: Business, deal_id: str, *, lock: bool = False) -> Deal:
    deal = session.get(Deal, deal_id, with_for_update=lock)
    if deal is None or deal.business_id != business.id:
        raise DealNotFound("This business has no deal with that id.")
    return deal


def update_deal(
    session: Session,
    business: Business,
    deal_id: str,
    changes: dict[str, Any],
    now: datetime,
    precondition: Precondition | None = None,
) -> Deal:
    """Change a deal that is not over, if it is still at a version `precondition` allows
    (DealChanged otherwise: the caller changes nothing it has not seen). Vouchers already
    sold keep their price and expiry; terminals pull the change (deals are `Recorded`)."""
    require_editing(session, business.id)
    # Locked, so no other change lands between the version check and this one.
    deal = own_deal(session, business, deal_id, lock=True)
    if deal.cancelled_at is not None or deal.ended or deal.ends_at <= now:
        raise DealClosed(
            "This deal is over (ended or cancelled) and cannot change: create a new deal."
        )
    if precondition is not None and not precondition.holds(deal.version):
        raise DealChanged(
            f"The deal has changed since you read it (a voucher sold, or another edit): it "
            f"is at version {deal.version} now. Nothing was changed: read it again (GET "
            f"/api/v1/businesses/{business.id}/deals/{deal.id}), check your change against "
            "it, and send it with the new ETag in If-Match."
        )
    merged = {name: changes.get(name, getattr(deal, name)) for name in _TERMS}
    problem = terms_problem(*merged.values())
    if problem is not None:
        raise InvalidDealTerms(f"{problem[0].upper()}{problem[1:]}; nothing was changed.")
    if "ends_at" in changes and merged["ends_at"] <= now:
        raise DealInThePast("The end time has passed: choose an end time in the future.")
    limit = changes.get("quantity_limit", deal.quantity_limit)
    if limit is not None and limit < deal.sold:
        raise QuantityBelowSold(
            f"{deal.sold} vouchers of this deal are sold already: set quantity_limit to at "
            "least that, or null for no limit."
        )
    if "branch_ids" in changes:
        changes = changes | {"branch_ids": _own_branches(session, business, changes["branch_ids"])}
    for name, value in changes.items():
        setattr(deal, name, value)
    session.flush()
    return deal


_TERMS = ("original_price_minor", "deal_price_minor", "starts_at", "ends_at")


def cancel_deal(session: Session, business: Business, deal_id: str, now: datetime) -> Deal:
    """Stop selling the deal for good. Vouchers already sold stay honoured until they
    expire (at the deal's end, as when they were sold): their holders paid for them.
    Cancelling it again changes nothing."""
    deal = own_deal(session, business, deal_id)
    if deal.cancelled_at is None:
        deal.cancelled_at, deal.ended = now, True
        session.flush()
    return deal


def own_deals(
    session: Session,
    business: Business,
    now: datetime,
    status: DealStatus | None,
    text: str | None,
    offset: int,
    limit: int,
) -> tuple[list[Deal], int]:
    """The business's deals in every state (or one), newest first, with the total."""
    query = select(Deal).where(Deal.business_id == business.id)
    if status is DealStatus.CANCELLED:
        query = query.where(Deal.cancelled_at.is_not(None))
    elif status is DealStatus.ENDED:
        query = query.where(
            Deal.cancelled_at.is_(None), or_(Deal.ended.is_(True), Deal.ends_at <= now)
        )
    elif status is not None:
        query = query.where(Deal.cancelled_at.is_(None), Deal.ended.is_(False), Deal.ends_at > now)
        starts = Deal.starts_at > now
        query = query.where(starts if status is DealStatus.DRAFT else ~starts)
    for word in words(text or ""):
        query = query.where(Deal.search_text.like(f"%{like_escaped(word)}%", escape="\\"))
    total = count_of(session, query)
    page = session.scalars(
        query.order_by(Deal.created_at.desc(), Deal.id).offset(offset).limit(limit)
    )
    return list(page), total


def vouchers_sold(
    session: Session,
    business: Business,
    deal_id: str | None,
    status: VoucherStatus | None,
    offset: int,
    limit: int,
) -> tuple[list[Voucher], int]:
    """The business's vouchers (of one deal, in one status), newest first, with the total."""
    query = select(Voucher).where(Voucher.business_id == business.id)
    if deal_id is not None:
        query = query.where(Voucher.deal_id == deal_id)
    if status is not None:
        query = query.where(Voucher.status == status)
    total = count_of(session, query)
    page = session.scalars(
        query.order_by(Voucher.issued_at.desc(), Voucher.id).offset(offset).limit(limit)
    )
    return list(page), total


def vouchers_of(
    session: Session, owner_id: str, status: VoucherStatus | None, offset: int, limit: int
) -> tuple[list[Voucher], int]:
    """A customer's vouchers (in one status), oldest first, with the total."""
    query = select(Voucher).where(Voucher.owner_id == owner_id)
    if status is not None:
        query = query.where(Voucher.status == status)
    page = session.scalars(
        query.order_by(Voucher.issued_at, Voucher.id).offset(offset).limit(limit)
    )
    return list(page), count_of(session, query)


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


def _require_on_sale(deal: Deal, now: datetime) -> None:
    """DealNotOnSale, saying why, unless `deal` sells now; DealSoldOut when, as read, every
    voucher is sold."""
    if deal.cancelled_at is not None:
        raise DealNotOnSale(
            "The business cancelled this deal: it sells no more vouchers. Vouchers already "
            "bought still work until they expire."
        )
    if not deal.starts_at <= now < deal.ends_at or deal.ended:
        raise DealNotOnSale(
            f"This deal runs from {deal.starts_at:%d %b %Y %H:%M} to "
            f"{deal.ends_at:%d %b %Y %H:%M} UTC: it is not on sale now.",
        )
    if deal.quantity_limit is not None and deal.sold >= deal.quantity_limit:
        raise DealSoldOut("Every voucher of this deal is sold.")


def sell_voucher(
    session: Session,
    gateway: PaymentGateway,
    keyring: Keyring,
    deal: Deal,
    owner_id: str,
    card_number: str,
    payment_key: str,
) -> Voucher:
    """Sell one voucher of `deal` to `owner_id`, paid with a payment card, in the caller's
    transaction. A deal that cannot sell one (over, cancelled, sold out as read) is refused
    before the charge; one whose last voucher another buyer took while this one was at the
    payment provider is refused after it, and the refusal owes the charge back
    (`owe_back`). `payment_key` makes a retry charge once."""
    now = _now()
    _require_on_sale(deal, now)
    price = Money.of(deal.deal_price_minor, deal.currency)
    reference = take_payment(gateway, price, card_number, payment_key)
    try:
        return buy_voucher(session, keyring, deal, owner_id, reference, now)
    except (DealNotOnSale, DealSoldOut) as refused:
        owe_back(
            refused, gateway, Paid(reference, price, payment_key),
            f"the deal {deal.title!r} could not sell it after it was paid",
        )  # fmt: skip
        raise


def buy_voucher(
    session: Session,
    keyring: Keyring,
    deal: Deal,
    owner_id: str | None,
    payment_reference: str,
    now: datetime | None = None,
    payer: LedgerAccount | None = None,
) -> Voucher:
    """Sell one voucher of `deal` to `owner_id` (None: a club holds it), paid through the
    gateway (`payment_reference`) into the business's clearing account, or from `payer` (a
    club's fund, which refuses to go below zero: `InsufficientFundsError`)."""
    now = now or _now()
    _require_on_sale(deal, now)
    # Count the sale only while there is stock: the deal's row is locked first, so two
    # buyers of the last voucher take turns and the second finds it sold.
    session.refresh(deal, with_for_update=True)
    if deal.quantity_limit is not None and deal.sold >= deal.quantity_limit:
        raise DealSoldOut("Every voucher of this deal is sold.")
    voucher = Voucher(
        id=make_id(),
        deal_id=deal.id,
        business_id=deal.business_id,
        owner_id=owner_id,
        face_minor=deal.deal_price_minor,
        currency=deal.currency,
        status=VoucherStatus.ISSUED,
        issued_at=now,
        expires_at=deal.ends_at,
        redeemed_at=None,
        redeemed_by=None,
        version=1,
    )
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
    add_with_commit(session, voucher)  # written with the commit: nothing reads it back
    deal.sold += 1  # after the token's claim, so that its flush rides with the commit too
    paid_from = payer or ledger.clearing_account(session, deal.currency, deal.business_id)
    vouchers = ledger.account(session, Purpose.VOUCHERS, deal.currency, deal.business_id)
    ledger.post(
        session,
        [
            Leg(
                paid_from,
                vouchers,
                deal.deal_price_minor,
                TransferKind.VOUCHER_SALE,
                memo=f"voucher {voucher.id}, {paid_by(payment_reference, payer)}",
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
    session: Session,
    voucher: Voucher,
    by_user_id: str,
    now: datetime | None = None,
    origin: Origin = NOWHERE,
    *,
    offline: bool = False,
) -> None:
    """Mark the voucher used (at `origin`; by a terminal offline, pushed later, when
    `offline`) — once, even if two tills scan it at the same moment."""
    # The voucher's row is locked first: of two tills scanning it at once, the second
    # waits, then finds it used.
    session.refresh(voucher, with_for_update=True)
    _spend(session, voucher, by_user_id, now or _now(), origin, offline=offline)


def _spend(
    session: Session,
    voucher: Voucher,
    by_user_id: str,
    now: datetime,
    origin: Origin,
    *,
    offline: bool = False,
) -> None:
    """Mark the voucher, its row locked by the caller, used, and post its value to the
    business's revenue (at `origin`)."""
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
                TransferKind.OFFLINE_VOUCHER_REDEMPTION
                if offline
                else TransferKind.VOUCHER_REDEMPTION,
                memo=f"voucher {voucher.id}",
            )
        ],
        origin=origin,
    )


def redeem_presented_voucher(
    session: Session,
    keyring: Keyring,
    business: Business,
    token: str | None,
    voucher_id: str | None,
    by: str,
    origin: Origin = NOWHERE,
) -> Voucher:
    """Redeem the voucher presented at `business`'s till (its QR text or its id), as the
    till's and the terminals' online redemptions both do; `by` is the user or terminal.
    Its row is locked as it is read (one statement, not a read and a locking read)."""
    now = _now()
    voucher = find_voucher(session, keyring, business, token, voucher_id, now, for_update=True)
    _spend(session, voucher, by, now, origin)
    return voucher


def end_deals(session: Session, now: datetime | None = None) -> int:
    """Mark deals past their end as ended (the listing and sync see it); how many."""
    now = now or _now()
    due = session.scalars(select(Deal).where(Deal.ends_at <= now, Deal.ended.is_(False))).all()
    for deal in due:
        deal.ended = True
    session.flush()
    return len(due)
