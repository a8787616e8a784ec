"""The console's read-only lists: users, cards, deals, invoices, payments, incidents, fraud
reviews, exchange rates. Each is a query with its columns, searched by one box, one page at
a time; cells are the words and amounts a person reads (money as `£12.50`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, false, func, or_, select
from sqlalchemy.orm import Session

from sync.money import Money

from ..accounts.models import User
from ..billing.models import ExchangeRate, Invoice
from ..billing.subscriptions import hidden_businesses
from ..deals.models import Deal
from ..devices.models import Incident
from ..directory.models import Business
from ..folding import fold, like_escaped, words
from ..fraud.models import FraudReview, FraudRule
from ..wallet.models import GiftCard, LedgerAccount, Transfer, TransferKind
from .repository import PAGE_SIZE, Listing

__all__ = ["LISTS", "Table", "money", "when"]

Cells = Sequence[str]


def money(minor: int, currency: str) -> str:
    return Money.of(minor, currency).format()


def when(moment: datetime | date | None) -> str:
    if moment is None:
        return ""
    if isinstance(moment, datetime):
        return f"{moment:%Y-%m-%d %H:%M}"
    return moment.isoformat()


def _like(column: Any, text: str) -> Any:
    return func.lower(column).like(f"%{like_escaped(text.lower())}%", escape="\\")


def _business_named(text: str) -> Any:
    """Rows whose business's folded name holds every word of `text`."""
    folded = words(text)
    return Business.search_name.like(f"%{like_escaped(' '.join(folded))}%", escape="\\")


def _page(session: Session, query: Select[*tuple[Any, ...]], offset: int) -> tuple[list[Any], int]:
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    return list(session.execute(query.offset(offset).limit(PAGE_SIZE))), total


@dataclass(frozen=True)
class Table:
    title: str
    intro: str
    search: str  # what the search box finds by
    columns: Sequence[str]
    numeric: frozenset[int]  # the columns of amounts, aligned right
    read: Callable[[Session, str, int], tuple[list[Cells], int]]
    action: str = ""  # a form each row offers (its template's name), if any

    def rows(self, session: Session, text: str, offset: int) -> Listing[Cells]:
        rows, total = self.read(session, text.strip(), offset)
        return Listing(rows, total, offset)


def _users(session: Session, text: str, offset: int) -> tuple[list[Cells], int]:
    query = select(User).order_by(User.created_at.desc(), User.id)
    if text:
        query = query.where(or_(_like(User.email, text), User.id == text))
    found, total = _page(session, query, offset)
    return [
        (
            u.email if u.deleted_at is None else f"(deleted {u.id})",
            u.role.value.replace("_", " "),
            when(u.created_at),
            "yes" if u.email_verified_at else "no",
            "on" if u.mfa_enabled_at else "off",
        )
        for (u,) in found
    ], total


def _cards(session: Session, text: str, offset: int) -> tuple[list[Cells], int]:
    query = (
        select(GiftCard, Business.name, LedgerAccount.balance_minor, User.email)
        .join(Business, Business.id == GiftCard.business_id)
        .join(LedgerAccount, LedgerAccount.id == GiftCard.account_id)
        .outerjoin(User, User.id == GiftCard.owner_id)
        .order_by(GiftCard.issued_at.desc(), GiftCard.id)
    )
    if text:
        query = query.where(
            or_(GiftCard.id == text, _business_named(text), _like(User.email, text))
        )
    found, total = _page(session, query, offset)
    return [
        (
            card.id,
            name,
            email or "",
            money(balance, card.currency),
            card.status.value,
            when(card.issued_at),
            when(card.expires_at),
        )
        for card, name, balance, email in found
    ], total


def _deals(session: Session, text: str, offset: int) -> tuple[list[Cells], int]:
    hidden = Business.id.in_(hidden_businesses())
    query = (
        select(Deal, Business.name, hidden)
        .join(Business, Business.id == Deal.business_id)
        .order_by(Deal.created_at.desc(), Deal.id)
    )
    if text:
        folded = fold(text)
        query = query.where(
            or_(
                Deal.search_text.like(f"%{like_escaped(folded)}%", escape="\\"),
                _business_named(text),
            )
        )
    found, total = _page(session, query, offset)
    return [
        (
            deal.title,
            name,
            money(deal.deal_price_minor, deal.currency),
            f"{deal.sold} of {deal.quantity_limit}" if deal.quantity_limit else str(deal.sold),
            when(deal.starts_at),
            when(deal.ends_at),
            _deal_state(deal, hidden=bool(business_hidden)),
        )
        for deal, name, business_hidden in found
    ], total


def _deal_state(deal: Deal, *, hidden: bool) -> str:
    """Whether the deal sells, as the public meets it: an open deal of a business the public
    does not see (the directory's rule) is not in the deals list and sells nothing."""
    if deal.ended:
        return "ended"
    return "open, but hidden with its business" if hidden else "open"


def _invoices(session: Session, text: str, offset: int) -> tuple[list[Cells], int]:
    query = (
        select(Invoice, Business.name)
        .join(Business, Business.id == Invoice.business_id)
        .order_by(Invoice.issued_on.desc(), Invoice.id)
    )
    if text:
        query = query.where(
            or_(Invoice.id == text, Invoice.status == text.lower(), _business_named(text))
        )
    found, total = _page(session, query, offset)
    return [
        (
            invoice.id,
            name,
            invoice.kind.value,
            when(invoice.issued_on),
            money(invoice.total_minor, invoice.currency),
            invoice.status.value,
            when(invoice.paid_on),
            str(invoice.attempts),
        )
        for invoice, name in found
    ], total


PAYMENTS = (TransferKind.PURCHASE, TransferKind.VOUCHER_SALE, TransferKind.REFUND)


def _payments(session: Session, text: str, offset: int) -> tuple[list[Cells], int]:
    """Customers' money in (cards and vouchers bought) and out (refunds), from the ledger."""
    query = (
        select(Transfer)
        .where(Transfer.kind.in_(PAYMENTS))
        .order_by(Transfer.created_at.desc(), Transfer.id.desc())
    )
    if text:
        query = query.where(or_(Transfer.operation_id == text, Transfer.card_id == text))
    found, total = _page(session, query, offset)
    return [
        (
            when(t.created_at),
            t.kind.value.replace("-", " "),
            money(t.amount_minor, t.currency),
            t.card_id or "",
            t.operation_id,
            t.memo,
        )
        for (t,) in found
    ], total


def _incidents(session: Session, text: str, offset: int) -> tuple[list[Cells], int]:
    query = (
        select(Incident, Business.name)
        .join(Business, Business.id == Incident.business_id)
        .order_by(Incident.created_at.desc(), Incident.id)
    )
    if text:
        query = query.where(or_(Incident.subject_id == text, _business_named(text)))
    found, total = _page(session, query, offset)
    return [
        (
            when(incident.created_at),
            name,
            incident.kind.value.replace("_", " "),
            money(incident.amount_minor, incident.currency),
            incident.detail,
            "open" if incident.resolved_at is None else f"resolved: {incident.resolution}",
        )
        for incident, name in found
    ], total


def _reviews(session: Session, text: str, offset: int) -> tuple[list[Cells], int]:
    """Open reviews first, then the latest."""
    query = (
        select(FraudReview, FraudRule.name)
        .join(FraudRule, FraudRule.id == FraudReview.rule_id)
        .order_by((FraudReview.status == "open").desc(), FraudReview.created_at.desc())
    )
    if text:
        query = query.where(or_(FraudReview.status == text.lower(), _like(FraudRule.name, text)))
    found, total = _page(session, query, offset)
    return [
        (
            review.id,
            when(review.created_at),
            name,
            f"{review.event.value} by {review.subject.value}",
            review.reason,
            str(review.hits),
            review.status.value
            + (f": {review.resolution}" if review.status != "open" and review.resolution else ""),
        )
        for review, name in found
    ], total


def _rates(session: Session, text: str, offset: int) -> tuple[list[Cells], int]:
    query = select(ExchangeRate).order_by(
        ExchangeRate.valid_from.desc(), ExchangeRate.currency, ExchangeRate.id
    )
    if text:
        query = (
            query.where(ExchangeRate.currency == text.upper())
            if len(text) == 3
            else query.where(false())
        )
    found, total = _page(session, query, offset)
    return [
        (r.currency, f"1 {r.base_currency} = {r.rate} {r.currency}", when(r.valid_from))
        for (r,) in found
    ], total


LISTS: dict[str, Table] = {
    "users": Table(
        "Users",
        "Every account: customers, vendors, cashiers and admins, newest first.",
        "email or id",
        ("Email", "Role", "Since", "Email confirmed", "Two-step sign-in"),
        frozenset(),
        _users,
    ),
    "cards": Table(
        "Gift cards",
        "Cards sold, newest first, with what is left on each.",
        "card id, business or holder's email",
        ("Card", "Business", "Holder", "Balance", "Status", "Issued", "Expires"),
        frozenset({3}),
        _cards,
    ),
    "deals": Table(
        "Deals",
        "Every deal, newest first: price, vouchers sold, when it runs.",
        "title or business",
        ("Deal", "Business", "Price", "Sold", "Starts", "Ends", "State"),
        frozenset({2, 3}),
        _deals,
    ),
    "invoices": Table(
        "Invoices",
        "Businesses' subscription invoices, latest first, with their payment.",
        "invoice id, status (paid, open, uncollectible…) or business",
        ("Invoice", "Business", "Kind", "Issued", "Total", "Status", "Paid on", "Attempts"),
        frozenset({4, 7}),
        _invoices,
    ),
    "payments": Table(
        "Payments",
        "Customers' payments for cards and vouchers, and refunds, from the ledger.",
        "operation id or card id",
        ("When (UTC)", "Kind", "Amount", "Card", "Operation", "Memo"),
        frozenset({2}),
        _payments,
    ),
    "incidents": Table(
        "Incidents",
        "What reconciling the tills' offline sales found, latest first.",
        "card or voucher id, or business",
        ("When (UTC)", "Business", "Kind", "Amount", "What happened", "State"),
        frozenset({3}),
        _incidents,
    ),
    "fraud-reviews": Table(
        "Fraud reviews",
        "What the fraud rules flagged for a person to look at: open ones first.",
        "status (open, cleared, confirmed) or rule name",
        ("Review", "When (UTC)", "Rule", "What", "Why", "Hits", "State"),
        frozenset({5}),
        _reviews,
        action="resolve_review.html",
    ),
    "exchange-rates": Table(
        "Exchange rates",
        "The dated rates billing converts with, latest first.",
        "currency code (EUR)",
        ("Currency", "Rate", "From"),
        frozenset(),
        _rates,
    ),
}
