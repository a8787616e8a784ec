"""Whether the business is suspended, as this terminal last synced it: by Tillpoint's
operators (the console), or by billing for an unpaid invoice. Either way it sells nothing
new and its listings cannot change, so the till says so and refuses listing edits itself,
offline too — while cards and vouchers already sold go on being redeemed.

The operator's reason is not synced: it is for the audit log, and the cashier needs only to
know what still works and whom to ask."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .kinds import SubscriptionStatus
from .revocation import EDIT_REFUSED
from .store import TerminalStore

__all__ = ["ListingEditsPausedError", "SuspendedBy", "Suspension", "refuse_edits", "suspension"]


class SuspendedBy(StrEnum):
    OPERATORS = "operators"  # Tillpoint's operators, from the console: support lifts it
    BILLING = "billing"  # an unpaid invoice: paying it lifts it


class ListingEditsPausedError(Exception):
    """A listing edit while the business is suspended; the message says why, in words."""


_REDEEMABLE = "Cards and vouchers already sold can still be redeemed."


@dataclass(frozen=True)
class Suspension:
    by: SuspendedBy

    @property
    def notice(self) -> str:
        """What every screen says while it lasts."""
        if self.by is SuspendedBy.OPERATORS:
            return (
                "This business is suspended by Tillpoint's operators: new sales and listing "
                f"edits are paused. {_REDEEMABLE} The owner should contact Tillpoint support."
            )
        return (
            "This business is suspended for an unpaid invoice: new sales and listing edits "
            f"are paused until the owner pays it (Owner tab). {_REDEEMABLE}"
        )

    @property
    def edit_refused(self) -> str:
        """Why a listing edit was not saved, and what to do."""
        if self.by is SuspendedBy.OPERATORS:
            return (
                "Not saved: this business is suspended by Tillpoint's operators, so its "
                "listings cannot change. The owner should contact Tillpoint support."
            )
        return (
            "Not saved: this business is suspended for an unpaid invoice, so its listings "
            "cannot change until the owner pays it (Owner tab)."
        )


def suspension(store: TerminalStore) -> Suspension | None:
    """The business's suspension at the last sync; None while it may sell and edit. The
    operators' comes first: paying an invoice does not lift it."""
    if store.suspended_by_operators():
        return Suspension(SuspendedBy.OPERATORS)
    plan = store.plan()
    if plan is not None and plan.status is SubscriptionStatus.SUSPENDED:
        return Suspension(SuspendedBy.BILLING)
    return None


def refuse_edits(store: TerminalStore) -> None:
    """Raise ListingEditsPausedError while the business is suspended, or this till is
    revoked: the server would refuse the edit anyway, so nothing is queued."""
    if store.revoked_at() is not None:
        raise ListingEditsPausedError(EDIT_REFUSED)
    found = suspension(store)
    if found is not None:
        raise ListingEditsPausedError(found.edit_refused)
