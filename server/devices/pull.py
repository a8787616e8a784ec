"""`changes since cursor`, scoped to the device's business, latest state only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from sync.wire import (
    BranchState,
    CardState,
    ChangesPage,
    DealState,
    OfflineLimitsBody,
    PlanState,
    ProductState,
    SnapshotPage,
    TrustListDocument,
    VoucherState,
    VoucherStatus,
)

from ..billing.models import Subscription
from ..billing.subscriptions import prices, product_count
from ..deals.models import Deal, Voucher
from ..directory.models import Branch, Business, Product
from ..events import Event, EventEntity, events_after, head_position, mark_at, mark_of
from ..tillstaff.service import staff_states
from ..wallet.models import GiftCard, IssuedToken, LedgerAccount
from .models import Device, OfflineLimits
from .schemas import DEFAULT_OFFLINE_LIMITS

__all__ = [
    "LEGACY_REWIND",
    "changes_since",
    "offline_limits",
    "resume_from",
    "snapshot_json",
    "snapshot_page",
]

# Before migration 0007 a cursor was a global insertion number, which a pull could move
# past a change whose transaction had not committed yet. Such a change has a number a
# little below the cursor handed out: at most what other transactions wrote while it was
# open. A terminal paired before 0007 is sent, once, everything from this far below its
# cursor (about twelve minutes at 4,000 changes a minute), instead of a whole snapshot.
LEGACY_REWIND = 50_000


def resume_from(session: Session, device: Device, cursor: int) -> int:
    """Where `device`'s pull starts: its cursor, or once for a terminal paired before
    the log kept commit order, far enough before it to cover what it may have missed."""
    legacy_below = device.feed_rewind_below
    if legacy_below is None:
        return cursor
    device.feed_rewind_below = None
    session.commit()
    return max(0, cursor - LEGACY_REWIND) if cursor <= legacy_below else cursor


def _ids(changes: Sequence[Event], entity: EventEntity) -> list[str]:
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


def _card_states(rows: Sequence[Any]) -> list[CardState]:
    return [
        CardState(
            id=c.id,
            currency=c.currency,
            balance_minor=balance,
            status=c.status.value,
            expires_at=c.expires_at,
            version=c.version,
        )
        for c, balance in rows
    ]


def _voucher_states(vouchers: Any) -> list[VoucherState]:
    return [
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
    ]


def _deal_states(deals: Any) -> list[DealState]:
    return [
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
    ]


def _product_states(products: Any) -> list[ProductState]:
    return [
        ProductState(
            id=p.id, name=p.name, price_minor=p.price_minor, currency=p.currency, version=p.version
        )
        for p in products
    ]


def _branch_states(branches: Any) -> list[BranchState]:
    return [
        BranchState(
            id=b.id,
            name=b.name,
            address=b.address,
            opening_hours=b.opening_hours or {},
            version=b.version,
        )
        for b in branches
    ]


_CARD_LIST: TypeAdapter[list[CardState]] = TypeAdapter(list[CardState])

_CARDS = select(GiftCard, LedgerAccount.balance_minor).join(
    LedgerAccount, LedgerAccount.id == GiftCard.account_id
)


def snapshot_json(
    session: Session,
    business_id: str,
    after: str | None,
    limit: int,
    cursor: int | None,
    trust_list: TrustListDocument,
) -> str:
    """One page of the business's current state, as the JSON of a `SnapshotPage`. On
    PostgreSQL the cards' part is written by the database (`_CARDS_JSON`): a first sync
    moves 100,000 cards, and making and serialising a model for each cost the server three
    times what the database spends reading them. Byte for byte what the models give
    (`tests/server/test_sync_snapshot_json.py`)."""
    if session.get_bind().dialect.name != "postgresql":
        return snapshot_page(
            session, business_id, after, limit, cursor, trust_list
        ).model_dump_json()
    if cursor is None:
        cursor = head_position(session, business_id)
    statement = _CARDS_JSON if after is None else _CARDS_JSON_AFTER
    cards, count, last = session.execute(
        statement, {"business_id": business_id, "after": after, "limit": limit}
    ).one()
    page = _page(
        session, business_id, after, cursor, [], last if count > limit else None, trust_list
    )
    return '{"cards":[' + (cards or "") + "]," + page.model_dump_json(exclude={"cards"})[1:]


# A card as `CardState.model_dump_json()` writes it (its fields in order, a UTC time with
# "Z" and microseconds only when there are some), for the page's first `limit` of `limit +
# 1` rows read (one more says whether another page follows).
_CARDS_JSON_SQL = """
    SELECT string_agg(
        '{"id":' || to_json(id)::text || ',"currency":' || to_json(currency)::text
        || ',"balance_minor":' || balance_minor || ',"status":' || to_json(status)::text
        || ',"expires_at":"'
        || to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
        || CASE WHEN date_trunc('second', expires_at) = expires_at THEN ''
            ELSE to_char(expires_at AT TIME ZONE 'UTC', '.US') END
        || 'Z","version":' || version || '}',
        ',' ORDER BY id) FILTER (WHERE n <= :limit),
        count(*),
        max(id) FILTER (WHERE n <= :limit)
    FROM (
        SELECT gift_cards.id, gift_cards.currency, ledger_accounts.balance_minor,
            gift_cards.status, gift_cards.expires_at, gift_cards.version,
            row_number() OVER (ORDER BY gift_cards.id) AS n
        FROM gift_cards JOIN ledger_accounts ON ledger_accounts.id = gift_cards.account_id
        WHERE gift_cards.business_id = :business_id {after}
        ORDER BY gift_cards.id
        LIMIT :limit + 1
    ) AS page
"""
_CARDS_JSON = text(_CARDS_JSON_SQL.replace("{after}", ""))
_CARDS_JSON_AFTER = text(_CARDS_JSON_SQL.replace("{after}", "AND gift_cards.id > :after"))


def snapshot_page(
    session: Session,
    business_id: str,
    after: str | None,
    limit: int,
    cursor: int | None,
    trust_list: TrustListDocument,
) -> SnapshotPage:
    """One page of the business's current state, as models (SQLite's way to the page's
    JSON). The feed position is read before the state, so whatever changes while the
    pages are fetched is in the pull that follows."""
    if cursor is None:
        cursor = head_position(session, business_id)
    cards_table, accounts = GiftCard.__table__, LedgerAccount.__table__
    query = (
        select(
            cards_table.c.id,
            cards_table.c.currency,
            accounts.c.balance_minor,
            cards_table.c.status,
            cards_table.c.expires_at,
            cards_table.c.version,
        )
        .join(accounts, accounts.c.id == cards_table.c.account_id)
        .where(cards_table.c.business_id == business_id)
    )
    if after:
        query = query.where(cards_table.c.id > after)
    # Plain rows (no ORM), validated as one list in one call (by the rows' column names,
    # which are CardState's fields): a few µs a card.
    rows = session.connection().execute(query.order_by(cards_table.c.id).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    cards = _CARD_LIST.validate_python(rows, from_attributes=True)
    next_after = rows[-1][0] if more else None
    return _page(session, business_id, after, cursor, cards, next_after, trust_list)


def _page(
    session: Session,
    business_id: str,
    after: str | None,
    cursor: int,
    cards: list[CardState],
    next_after: str | None,
    trust_list: TrustListDocument,
) -> SnapshotPage:
    """A snapshot page with `cards`; the first page (no `after`) brings everything but
    the other cards."""
    vouchers: list[VoucherState] = []
    deals: list[DealState] = []
    products: list[ProductState] = []
    branches: list[BranchState] = []
    revoked: list[str] = []
    if not after:
        vouchers = _voucher_states(
            session.scalars(
                select(Voucher).where(
                    Voucher.business_id == business_id, Voucher.status == VoucherStatus.ISSUED
                )
            )
        )
        deals = _deal_states(
            session.scalars(
                select(Deal).where(Deal.business_id == business_id, Deal.ended.is_(False))
            )
        )
        products = _product_states(
            session.scalars(select(Product).where(Product.business_id == business_id))
        )
        branches = _branch_states(
            session.scalars(select(Branch).where(Branch.business_id == business_id))
        )
        revoked = list(
            session.scalars(
                select(IssuedToken.token_id).where(
                    IssuedToken.business_id == business_id, IssuedToken.revoked_at.is_not(None)
                )
            )
        )
    name, suspended, zone = _business(session, business_id)
    return SnapshotPage(
        cursor=cursor,
        cursor_mark=mark_at(session, business_id, cursor),
        next_after=next_after,
        cards=cards,
        vouchers=vouchers,
        deals=deals,
        products=products,
        branches=branches,
        revoked_token_ids=revoked,
        trust_list=trust_list,
        offline_limits=offline_limits(session, business_id),
        plan=_plan(session, business_id),
        business_time_zone=zone,
        staff=staff_states(session, business_id) if not after else [],
        business_name=name,
        suspended_by_operators=suspended,
    )


def _business(session: Session, business_id: str) -> tuple[str | None, bool, str | None]:
    """The business's name (for receipts), whether its operators have suspended it (the
    till says so and pauses listing edits) and its time zone (which day is today at its
    tills). All are columns of the business, so a change to any is an event in its log,
    and the pull that follows carries them."""
    business = session.get(Business, business_id)
    if business is None:
        return None, False, None
    return business.name, business.suspended_at is not None, business.time_zone


def _plan(session: Session, business_id: str) -> PlanState | None:
    subscription = session.get(Subscription, business_id)
    if subscription is None:
        return None
    plan = prices(session)[subscription.plan_code]
    return PlanState(
        name=plan.name,
        max_products=plan.max_products,
        products=product_count(session, business_id),
        status=subscription.status,
        hibernating=subscription.hibernating,
        pending_plan=subscription.pending_plan,
    )


def changes_since(
    session: Session,
    business_id: str,
    cursor: int,
    limit: int,
    trust_list: TrustListDocument,
    mark: str | None = None,
) -> ChangesPage:
    """What changed after `cursor`: each entity once, in its current state.

    A cursor past the log's head was handed out by this log before the database was
    restored from an older backup: the positions after the head will be given to other
    changes, and what the terminal cached may no longer exist. So was a cursor whose
    `mark` (`events.mark_of`, sent by terminals that keep it) is not the change's at that
    position: the restored log has grown past it since. The page says so (the terminal
    takes a fresh snapshot) and reads the log from its start, so that a terminal older
    than that answer at least gets everything that exists again, and what comes next."""
    if mark is not None and cursor > 0:
        # From the cursor's own change, in the same read: is it the one the terminal read?
        rows = events_after(session, business_id, cursor - 1, limit + 2)
        ours = bool(rows) and rows[0].position == cursor and mark_of(rows[0]) == mark
        ahead = not ours
        rows = rows[1:] if ours else rows
    else:
        rows = events_after(session, business_id, cursor, limit + 1)
        # Only a cursor with nothing after it can be past the head.
        ahead = not rows and cursor > head_position(session, business_id)
    if ahead:
        cursor = 0
        rows = events_after(session, business_id, cursor, limit + 1)
    page, more = rows[:limit], len(rows) > limit
    product_ids = _ids(page, EventEntity.PRODUCT)
    branch_ids = _ids(page, EventEntity.BRANCH)
    products = _product_states(session.scalars(select(Product).where(Product.id.in_(product_ids))))
    branches = _branch_states(session.scalars(select(Branch).where(Branch.id.in_(branch_ids))))
    staff_ids = _ids(page, EventEntity.STAFF)
    staff = staff_states(session, business_id, staff_ids) if staff_ids else []
    name, suspended, zone = _business(session, business_id)
    return ChangesPage(
        cursor=page[-1].position if page else cursor,
        cursor_mark=mark_of(page[-1]) if page else (None if ahead else mark),
        more=more,
        cards=_card_states(
            session.execute(_CARDS.where(GiftCard.id.in_(_ids(page, EventEntity.CARD)))).all()
        ),
        vouchers=_voucher_states(
            session.scalars(select(Voucher).where(Voucher.id.in_(_ids(page, EventEntity.VOUCHER))))
        ),
        deals=_deal_states(
            session.scalars(select(Deal).where(Deal.id.in_(_ids(page, EventEntity.DEAL))))
        ),
        products=products,
        branches=branches,
        # Named in the feed but gone: removed since; the terminal drops its copies.
        removed_products=sorted(set(product_ids) - {p.id for p in products}),
        removed_branches=sorted(set(branch_ids) - {b.id for b in branches}),
        revoked_token_ids=_ids(page, EventEntity.REVOCATION),
        trust_list=trust_list,
        offline_limits=offline_limits(session, business_id),
        plan=_plan(session, business_id),
        business_time_zone=zone,
        staff=staff,
        removed_staff=sorted(set(staff_ids) - {s.id for s in staff}),
        business_name=name,
        suspended_by_operators=suspended,
        cursor_ahead=ahead,
    )
