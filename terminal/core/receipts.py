"""What a receipt says: the shop (business, branch, till, cashier), when, the reference, how
it was decided, and what the screen said — the amount, what is left, what to hand over."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hardware import Receipt
from sync.money import Money
from sync.tokens import Kind

from .presented import Presented
from .store import TerminalStore
from .till import Verdict

__all__ = ["Shop", "receipt_for", "shop_of"]


@dataclass(frozen=True)
class Shop:
    business: str  # "Tillpoint" until a sync has brought the business's name
    branch: str | None  # named when the business has one branch (the till is there)
    till: str
    cashier: str | None = None  # who is signed in; the till's name stands in otherwise


def shop_of(store: TerminalStore, cashier: str | None = None) -> Shop:
    """The shop as this terminal last synced it."""
    branches = store.branches()
    return Shop(
        business=store.business_name() or "Tillpoint",
        branch=branches[0].name if len(branches) == 1 else None,
        till=store.till_name() or "Till",
        cashier=cashier,
    )


def receipt_for(
    verdict: Verdict, presented: Presented, amount: Money, shop: Shop, now: datetime
) -> Receipt:
    """The receipt for an approved redemption; its QR code carries the reference."""
    lines: list[tuple[str, str]] = []
    if shop.branch:
        lines.append(("Branch", shop.branch))
    lines.append(("Till", shop.till))
    lines.append(("Cashier", shop.cashier or shop.till))
    lines.append(("Date", now.astimezone().strftime("%Y-%m-%d %H:%M")))
    lines.append((presented.label, presented.short_id))
    if verdict.deal_title:
        lines.append(("Hand over", verdict.deal_title))
    lines.append(("Redeemed", amount.format()))
    if presented.kind is Kind.GIFT_CARD and verdict.balance_after is not None:
        lines.append(("Balance left", verdict.balance_after.format()))
    footer = [f"Approved {verdict.mode}"]
    if verdict.operation_id:
        footer.append(f"Ref {verdict.operation_id}")
    return Receipt(
        shop.business,
        lines,
        heading=f"{presented.label} redeemed",
        footer=footer,
        qr=verdict.operation_id,
    )
