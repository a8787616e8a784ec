"""The states and kinds the terminal keeps, one StrEnum each; the values are what the
terminal's database and the server's answers hold."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["CardStatus", "Mode", "RedemptionKind", "SubscriptionStatus", "VoucherStatus"]


class CardStatus(StrEnum):
    """A gift card as the server last described it."""

    ACTIVE = "active"
    BLOCKED = "blocked"  # held for review (e.g. overspent offline)
    EXPIRED = "expired"


class VoucherStatus(StrEnum):
    """A deal voucher as the server last described it."""

    ISSUED = "issued"
    REDEEMED = "redeemed"


class RedemptionKind(StrEnum):
    """What the cashier redeemed: the journal's `kind`."""

    GIFT_CARD = "gift_card"
    VOUCHER = "voucher"


class Mode(StrEnum):
    """Who decided a redemption: the server, or this terminal on its own."""

    ONLINE = "online"
    OFFLINE = "offline"


class SubscriptionStatus(StrEnum):
    """How the business's plan stands."""

    ACTIVE = "active"
    PAST_DUE = "past_due"
    GRACE = "grace"
    SUSPENDED = "suspended"
