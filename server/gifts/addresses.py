"""The one rule for "is this the buyer's own address": whether a gift is a card for oneself
(its email is the purchase's receipt, and it may go straight into the signed-in buyer's
account) or a gift to someone else (its buyer gets a receipt of their own)."""

from __future__ import annotations

__all__ = ["same_address"]


def same_address(one: str, other: str) -> bool:
    """Whether two email addresses are one person's: spaces around them and the letters'
    case do not count (`Ann@example.com` is `ann@example.com`), as mail servers deliver
    them to one mailbox. An empty address (a buyer erased) is no one's."""
    mine = one.strip().casefold()
    return bool(mine) and mine == other.strip().casefold()
