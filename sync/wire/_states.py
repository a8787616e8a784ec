"""The states and kinds that cross the wire, one StrEnum each. The server stores these
values in its tables and the terminal in its own; both import the enums from here."""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "CardStatus",
    "IncidentKind",
    "InvoiceKind",
    "InvoiceStatus",
    "PriceKind",
    "SubscriptionStatus",
    "VoucherStatus",
]


class CardStatus(StrEnum):
    """A gift card's state."""

    ACTIVE = "active"
    BLOCKED = "blocked"  # held for review (e.g. overspent offline)
    EXPIRED = "expired"


class VoucherStatus(StrEnum):
    """A deal voucher's state."""

    ISSUED = "issued"
    REDEEMED = "redeemed"


class IncidentKind(StrEnum):
    """What reconciliation flagged for the owner to look at."""

    OFFLINE_OVERSPEND = "offline_overspend"  # tills together spent more than a card held
    VOUCHER_REUSED = "voucher_reused"  # a voucher redeemed again offline (or after its deal)
    EDIT_CONFLICT = "edit_conflict"  # a listing edit made on an older version, not applied
    FRAUD_FLAGGED = "fraud_flagged"  # a fraud rule would have blocked a pushed redemption
    # A revoked till pushed what it had approved offline before it knew: refused, unrecorded
    REVOKED_TILL_SALES = "revoked_till_sales"


class PriceKind(StrEnum):
    PLAN = "plan"  # a tier, with the products it allows
    ADDON = "addon"  # priced per unit on top of the plan (extra branch, hibernation)


class SubscriptionStatus(StrEnum):
    """How a business's plan stands."""

    ACTIVE = "active"
    PAST_DUE = "past_due"  # retrying a failed payment
    GRACE = "grace"  # retries over: suspended when the grace period ends
    SUSPENDED = "suspended"  # hidden, selling nothing new, until an invoice is paid
    # Its owner closed the business: nothing new is invoiced, nothing changes. Shown, not
    # stored: the stored state goes on collecting what was invoiced before.
    CLOSED = "closed"


class InvoiceKind(StrEnum):
    PERIOD = "period"  # the month ahead: plan and branches
    CHANGES = "changes"  # a day's prorated changes that add up to a charge


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    PAID = "paid"
    UNCOLLECTIBLE = "uncollectible"  # the business was suspended over it; still payable
    VOID = "void"

    @property
    def unpaid(self) -> bool:
        """Still to be paid: only these can be paid (or voided)."""
        return self in (InvoiceStatus.OPEN, InvoiceStatus.UNCOLLECTIBLE)
