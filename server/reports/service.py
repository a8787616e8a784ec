"""A business's report for a range of days: what its ledger transfers moved, by branch,
till or cashier (each transfer says where it happened, `ledger.Origin`), the gift-card
liability at either end, and the subscription invoices it paid.

Every money figure is a sum of ledger transfers of the business created in the range, so
the report reconciles to the ledger by construction: takings are the net change of its
revenue accounts, the liability the balance of its cards (and amounts held at its tills).
Subscription charges are invoices, not ledger transfers: they are shown beside.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, case, func, literal, select
from sqlalchemy.orm import Session, aliased

from sync.wire import InvoiceStatus, ReportGrouping

from ..accounts.models import User
from ..billing.models import Invoice
from ..devices.models import Device
from ..directory.models import Branch, Business
from ..errors import ReportRangeInvalid
from ..tillstaff.models import TillStaff
from ..wallet.models import LedgerAccount, Purpose, Transfer, TransferKind
from ..zones import zone_named

__all__ = [
    "FIGURES",
    "MAX_DAYS",
    "Figures",
    "Report",
    "ReportRange",
    "Row",
    "business_report",
    "report_range",
]

MAX_DAYS = 366
"""The longest range one report covers: a year, leap or not."""
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(9998, 12, 31)
"""The days a report may cover (a day outside is no day any money moved on)."""

# Which transfers make each figure. Holds, their releases and card-to-card transfers move
# value between a business's own accounts: they show only in the liability.
_KINDS: dict[str, tuple[TransferKind, ...]] = {
    "cards_sold": (TransferKind.PURCHASE,),
    "vouchers_sold": (TransferKind.VOUCHER_SALE,),
    "redeemed_online": (
        TransferKind.REDEMPTION,
        TransferKind.HOLD_POSTED,
        TransferKind.VOUCHER_REDEMPTION,
    ),
    "redeemed_offline": (
        TransferKind.OFFLINE_REDEMPTION,
        TransferKind.OFFLINE_SHORTFALL,
        TransferKind.OFFLINE_VOUCHER_REDEMPTION,
    ),
    "voids": (TransferKind.VOID,),
    "refunds": (TransferKind.REFUND,),
    "breakage": (TransferKind.EXPIRY,),
}
FIGURES = (*_KINDS, "shortfalls")

# What a business owes on gift cards: their balances, and what is held at its tills.
_LIABILITY = (Purpose.CARD, Purpose.HOLDS)


@dataclass(frozen=True)
class ReportRange:
    """Days `first` to `last` (inclusive) in `zone`, as UTC moments [start, end)."""

    first: date
    last: date
    zone: ZoneInfo

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(), self.zone).astimezone(UTC)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(), self.zone).astimezone(UTC)


def report_range(
    first: date, last: date | None, time_zone: str | None, business_zone: str = "UTC"
) -> ReportRange:
    """The range asked for, its days in `time_zone` when one is named, else in the
    business's own zone; or `ReportRangeInvalid` saying what to send instead."""
    last = last or first
    for day in (first, last):
        if not FIRST_DAY <= day <= LAST_DAY:
            raise ReportRangeInvalid(
                f"{day} is outside the days a report covers ({FIRST_DAY} to {LAST_DAY}): "
                "send days in that span."
            )
    if last < first:
        raise ReportRangeInvalid(
            f"The range ends ({last}) before it starts ({first}): send from= the first day "
            "and to= the last (the same day for one day)."
        )
    if (last - first).days + 1 > MAX_DAYS:
        raise ReportRangeInvalid(
            f"A report covers at most {MAX_DAYS} days; {first} to {last} is "
            f"{(last - first).days + 1}: ask for the range in parts."
        )
    name = time_zone or business_zone
    zone = zone_named(name)
    if zone is None:
        raise ReportRangeInvalid(
            f"There is no time zone {name!r}: send an IANA name such as Europe/London, "
            f"or leave tz out for the business's own ({business_zone})."
        )
    return ReportRange(first, last, zone)


@dataclass
class Figures:
    """Minor units and operation counts per figure."""

    minor: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FIGURES, 0))
    count: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FIGURES, 0))

    @property
    def takings_minor(self) -> int:
        """What redemptions brought in, net: the revenue accounts' change."""
        m = self.minor
        return m["redeemed_online"] + m["redeemed_offline"] - m["voids"] - m["refunds"]

    def add(self, other: Figures) -> None:
        for name in FIGURES:
            self.minor[name] += other.minor[name]
            self.count[name] += other.count[name]


@dataclass(frozen=True)
class Row:
    key: str | None
    name: str
    figures: Figures


@dataclass(frozen=True)
class Report:
    business: Business
    range: ReportRange
    group_by: ReportGrouping | None
    rows: list[Row]
    totals: Figures
    liability_opening_minor: int
    liability_closing_minor: int
    subscription_charges: dict[str, int]  # currency → minor units paid


def _figure_of() -> ColumnElement[str]:
    return case(
        *((Transfer.kind.in_(kinds), name) for name, kinds in _KINDS.items()),
        else_="",
    )


_COLUMNS = {
    ReportGrouping.BRANCH: Transfer.branch_id,
    ReportGrouping.TILL: Transfer.device_id,
    ReportGrouping.CASHIER: Transfer.cashier_id,
}


def _in_range(business: Business, span: ReportRange) -> list[ColumnElement[bool]]:
    return [
        Transfer.business_id == business.id,
        Transfer.currency == business.currency,
        Transfer.created_at >= span.start,
        Transfer.created_at < span.end,
    ]


def _figures_by_group(
    session: Session, business: Business, span: ReportRange, group_by: ReportGrouping | None
) -> dict[str | None, Figures]:
    """Each group's figures: one query for the figures by kind, one for the shortfalls
    (an offline redemption's part the card could not cover, also in `redeemed_offline`)."""
    group = _COLUMNS[group_by] if group_by else Transfer.business_id
    figure = _figure_of()
    totals = [func.sum(Transfer.amount_minor), func.count(func.distinct(Transfer.operation_id))]
    by_figure = (
        select(group, figure, *totals).where(*_in_range(business, span)).group_by(group, figure)
    )
    shortfalls = (
        select(group, literal("shortfalls"), *totals)
        .where(*_in_range(business, span), Transfer.kind == TransferKind.OFFLINE_SHORTFALL)
        .group_by(group)
    )
    groups: dict[str | None, Figures] = defaultdict(Figures)
    for query in (by_figure, shortfalls):
        for row in session.execute(query):
            key, name, minor, operations = row[0], str(row[1]), int(row[2]), int(row[3])
            if name not in FIGURES:
                continue  # holds, card transfers, donations: in the liability only
            figures = groups[key if group_by else None]
            figures.minor[name] += minor
            figures.count[name] += operations
    return groups


def _names(
    session: Session, business: Business, group_by: ReportGrouping | None, keys: list[str]
) -> dict[str, str]:
    if group_by is ReportGrouping.BRANCH:
        query = select(Branch.id, Branch.name).where(Branch.id.in_(keys))
    elif group_by is ReportGrouping.TILL:
        query = select(Device.id, Device.name).where(Device.id.in_(keys))
    elif group_by is ReportGrouping.CASHIER:
        staff = aliased(TillStaff)
        query = (
            select(User.id, func.coalesce(staff.name, User.email))
            .outerjoin(staff, (staff.user_id == User.id) & (staff.business_id == business.id))
            .where(User.id.in_(keys))
        )
    else:
        return {}
    return {str(key): str(name) for key, name in session.execute(query)}


_NONE = {
    None: "All",
    ReportGrouping.BRANCH: "No branch (the app, the owner)",
    ReportGrouping.TILL: "No till (the app, a cashier's phone, the owner)",
    ReportGrouping.CASHIER: "No cashier (the app, a till with no one signed in, expiry)",
}


def _liability(session: Session, business: Business, before: datetime) -> int:
    """What the business's cards held (and its tills held on them) at `before`: every
    transfer into those accounts until then, less every one out of them."""
    credit, debit = aliased(LedgerAccount), aliased(LedgerAccount)
    into = case((credit.purpose.in_(_LIABILITY), Transfer.amount_minor), else_=0)
    out = case((debit.purpose.in_(_LIABILITY), Transfer.amount_minor), else_=0)
    value = session.scalar(
        select(func.sum(into) - func.sum(out))
        .select_from(Transfer)
        .join(credit, credit.id == Transfer.credit_account_id)
        .join(debit, debit.id == Transfer.debit_account_id)
        .where(
            Transfer.business_id == business.id,
            Transfer.currency == business.currency,
            Transfer.created_at < before,
        )
    )
    return int(value or 0)


def _subscription_charges(
    session: Session, business: Business, span: ReportRange
) -> dict[str, int]:
    """Subscription invoices paid on the range's days: the moments they were paid, in the
    range's zone, as the ledger's transfers are."""
    rows = session.execute(
        select(Invoice.currency, func.sum(Invoice.total_minor))
        .where(
            Invoice.business_id == business.id,
            Invoice.status == InvoiceStatus.PAID,
            Invoice.paid_at >= span.start,
            Invoice.paid_at < span.end,
        )
        .group_by(Invoice.currency)
        .order_by(Invoice.currency)
    )
    return {currency: int(minor) for currency, minor in rows if minor}


def business_report(
    session: Session, business: Business, span: ReportRange, group_by: ReportGrouping | None
) -> Report:
    groups = _figures_by_group(session, business, span, group_by)
    names = _names(session, business, group_by, [k for k in groups if k is not None])
    rows = [
        Row(key, names.get(key, key) if key is not None else _NONE[group_by], figures)
        for key, figures in groups.items()
    ]
    rows.sort(key=lambda row: (row.key is None, row.name.casefold(), row.key or ""))
    totals = Figures()
    for row in rows:
        totals.add(row.figures)
    return Report(
        business,
        span,
        group_by,
        rows,
        totals,
        _liability(session, business, span.start),
        _liability(session, business, span.end),
        _subscription_charges(session, business, span),
    )
