"""The console's home page figures: deals on sale now, sales and redemptions per day, deal
effectiveness (views, then purchases, then redemptions) and the busiest businesses. Each is
one grouped query; money is added up per currency, never across currencies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, literal_column, select
from sqlalchemy.orm import Session

from sync.wire import VoucherStatus

from ..deals.models import Deal, DealView, Voucher
from ..directory.models import Business
from ..wallet.models import LedgerAccount, Purpose, Transfer, TransferKind
from .lists import money

__all__ = ["DAYS", "Dashboard", "dashboard"]

DAYS = 14  # sales and redemptions per day, this many days back
BUSY_DAYS = 30  # the busiest businesses, by redemptions over this many days
TOP = 10

SALES = (TransferKind.PURCHASE, TransferKind.VOUCHER_SALE)
REDEMPTIONS = (
    TransferKind.REDEMPTION,
    TransferKind.OFFLINE_REDEMPTION,
    TransferKind.VOUCHER_REDEMPTION,
)


@dataclass(frozen=True)
class DayFigures:
    day: str
    currency: str
    sales: int
    sold: str
    redemptions: int
    redeemed: str


@dataclass(frozen=True)
class DealFunnel:
    title: str
    business: str
    views: int
    purchases: int
    redemptions: int

    @property
    def bought_per_view(self) -> str:
        return f"{100 * self.purchases / self.views:.0f}%" if self.views else "–"

    @property
    def redeemed_per_purchase(self) -> str:
        return f"{100 * self.redemptions / self.purchases:.0f}%" if self.purchases else "–"


@dataclass(frozen=True)
class Busy:
    name: str
    business_id: str
    redemptions: int


@dataclass(frozen=True)
class Dashboard:
    deals_on_sale: int
    ending_soon: list[tuple[str, str, str]]  # title, business, ends
    days: list[DayFigures]
    funnels: list[DealFunnel]
    busiest: list[Busy]


def _day(session: Session, column: Any) -> Any:
    """The UTC day of a timestamp as YYYY-MM-DD, on either database."""
    # Literals, not parameters: GROUP BY must repeat the SELECT's expression exactly.
    if session.get_bind().dialect.name == "postgresql":
        utc = func.timezone(literal_column("'UTC'"), column)
        return func.to_char(utc, literal_column("'YYYY-MM-DD'"))
    return func.strftime(literal_column("'%Y-%m-%d'"), column)


def _on_sale(now: datetime) -> Any:
    return (Deal.ended.is_(False), Deal.starts_at <= now, Deal.ends_at > now)


def _per_day(session: Session, since: datetime) -> list[DayFigures]:
    day = _day(session, Transfer.created_at)
    rows = session.execute(
        select(day, Transfer.currency, Transfer.kind, func.count(), func.sum(Transfer.amount_minor))
        .where(Transfer.created_at >= since, Transfer.kind.in_(SALES + REDEMPTIONS))
        .group_by(day, Transfer.currency, Transfer.kind)
    )
    figures: dict[tuple[str, str], dict[bool, tuple[int, int]]] = {}
    for on, currency, kind, count, amount in rows:
        got = figures.setdefault((str(on), currency), {})
        before = got.get(kind in SALES, (0, 0))
        got[kind in SALES] = (before[0] + count, before[1] + int(amount or 0))
    return [
        DayFigures(
            on,
            currency,
            got.get(True, (0, 0))[0],
            money(got.get(True, (0, 0))[1], currency),
            got.get(False, (0, 0))[0],
            money(got.get(False, (0, 0))[1], currency),
        )
        for (on, currency), got in sorted(figures.items(), reverse=True)
    ]


def _funnels(session: Session) -> list[DealFunnel]:
    """The deals that sold most, each with its views and redemptions."""
    views = (
        select(DealView.deal_id, func.sum(DealView.views).label("views"))
        .group_by(DealView.deal_id)
        .subquery()
    )
    redeemed = (
        select(Voucher.deal_id, func.count().label("redeemed"))
        .where(Voucher.status == VoucherStatus.REDEEMED)
        .group_by(Voucher.deal_id)
        .subquery()
    )
    rows = session.execute(
        select(Deal.title, Business.name, views.c.views, Deal.sold, redeemed.c.redeemed)
        .join(Business, Business.id == Deal.business_id)
        .outerjoin(views, views.c.deal_id == Deal.id)
        .outerjoin(redeemed, redeemed.c.deal_id == Deal.id)
        .order_by(Deal.sold.desc(), views.c.views.desc(), Deal.id)
        .limit(TOP)
    )
    return [
        DealFunnel(title, name, int(seen or 0), sold, int(used or 0))
        for title, name, seen, sold, used in rows
    ]


def _busiest(session: Session, since: datetime) -> list[Busy]:
    """Businesses by redemptions at their counters (each credits their revenue account)."""
    count = func.count(func.distinct(Transfer.operation_id)).label("redemptions")
    rows = session.execute(
        select(Business.name, Business.id, count)
        .join(LedgerAccount, LedgerAccount.business_id == Business.id)
        .join(Transfer, Transfer.credit_account_id == LedgerAccount.id)
        .where(
            LedgerAccount.purpose == Purpose.REVENUE,
            Transfer.kind.in_(REDEMPTIONS),
            Transfer.created_at >= since,
        )
        .group_by(Business.id, Business.name)
        .order_by(count.desc(), Business.name)
        .limit(TOP)
    )
    return [Busy(name, business_id, n) for name, business_id, n in rows]


def dashboard(session: Session, now: datetime) -> Dashboard:
    on_sale = _on_sale(now)
    ending = session.execute(
        select(Deal.title, Business.name, Deal.ends_at)
        .join(Business, Business.id == Deal.business_id)
        .where(*on_sale)
        .order_by(Deal.ends_at, Deal.id)
        .limit(5)
    )
    return Dashboard(
        session.scalar(select(func.count()).select_from(Deal).where(*on_sale)) or 0,
        [(title, name, f"{ends:%Y-%m-%d %H:%M}") for title, name, ends in ending],
        _per_day(session, now - timedelta(days=DAYS)),
        _funnels(session),
        _busiest(session, now - timedelta(days=BUSY_DAYS)),
    )
