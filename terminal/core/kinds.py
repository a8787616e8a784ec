"""The states and kinds the terminal keeps, one StrEnum each; the values are what the
terminal's database and the server's answers hold. The states the server sends (a card's,
a voucher's, the plan's) are defined once, in `sync.wire`, and re-exported here; a newer
server may send one this till does not know (a `NewerValue`), which `in_words` shows."""

from __future__ import annotations

from enum import StrEnum

from sync.wire import CardStatus, NewerValue, SubscriptionStatus, VoucherStatus

__all__ = [
    "CardStatus",
    "Mode",
    "NewerValue",
    "RedemptionKind",
    "SubscriptionStatus",
    "VoucherStatus",
    "in_words",
]


def in_words(value: str) -> str:
    """A state or kind from the server for a person: `past_due` as "past due", and one a
    newer server added (`revoked_till_sales` before this till knew it) the same way."""
    return NewerValue(value).words


class RedemptionKind(StrEnum):
    """What the cashier redeemed: the journal's `kind`."""

    GIFT_CARD = "gift_card"
    VOUCHER = "voucher"


class Mode(StrEnum):
    """Who decided a redemption: the server, or this terminal on its own."""

    ONLINE = "online"
    OFFLINE = "offline"
