"""What a receipt says: the shop (business, branch, till, cashier), when, the reference, how
it was decided, and what the screen said — the amount, what is left, what to hand over."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime

from hardware import Receipt
from sync.money import Money
from sync.tokens import Kind

from .presented import Presented
from .store import TerminalStore
from .till import Verdict

__all__ = ["Shop", "receipt_for", "receipt_from_json", "receipt_json", "reprint", "shop_of"]


@dataclass(frozen=True)
class Shop:
    business: str  # "Tillpoint" until a sync has brought the business's name
    branch: str | None  # the till's own (its pairing code's), else the business's only one
    till: str
    cashier: str | None = None  # who is signed in; the till's name stands in otherwise


def shop_of(store: TerminalStore, cashier: str | None = None) -> Shop:
    """The shop as this terminal last synced it. The branch is the one this till serves, as
    last synced (a rename reaches its receipts with the next sync); a till paired without
    one names the business's branch when it has only one, and none when it cannot tell."""
    branches = store.branches()
    own = store.till_branch()
    named = [b.name for b in branches if b.id == own] if own else []
    if not named and len(branches) == 1:
        named = [branches[0].name]
    return Shop(
        business=store.business_name() or "Tillpoint",
        branch=named[0] if named else None,
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


def receipt_json(receipt: Receipt) -> str:
    """The receipt as kept for reprints."""
    return json.dumps(asdict(receipt), ensure_ascii=False)


def receipt_from_json(text: str) -> Receipt:
    kept = json.loads(text)
    return Receipt(
        kept["title"],
        [(label, value) for label, value in kept["lines"]],
        heading=kept["heading"],
        footer=list(kept["footer"]),
        qr=kept["qr"],
    )


def reprint(receipt: Receipt, now: datetime) -> Receipt:
    """The same receipt, marked as a copy and when it was printed again."""
    return Receipt(
        receipt.title,
        receipt.lines,
        heading=f"{receipt.heading} (COPY)" if receipt.heading else "COPY",
        footer=[*receipt.footer, f"Reprinted {now.astimezone():%Y-%m-%d %H:%M}"],
        qr=receipt.qr,
    )
