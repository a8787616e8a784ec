"""The states and kinds the terminal keeps, one StrEnum each; the values are what the
terminal's database and the server's answers hold. The states the server sends (a card's,
a voucher's, the plan's) are defined once, in `sync.wire`, and re-exported here."""

from __future__ import annotations

from enum import StrEnum

from sync.wire import CardStatus, SubscriptionStatus, VoucherStatus

__all__ = ["CardStatus", "Mode", "RedemptionKind", "SubscriptionStatus", "VoucherStatus"]


class RedemptionKind(StrEnum):
    """What the cashier redeemed: the journal's `kind`."""

    GIFT_CARD = "gift_card"
    VOUCHER = "voucher"


class Mode(StrEnum):
    """Who decided a redemption: the server, or this terminal on its own."""

    ONLINE = "online"
    OFFLINE = "offline"
