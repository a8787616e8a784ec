"""What a terminal pulls: pages of changes, the first sync's snapshot pages, and what they
carry (cards, vouchers, listings, offline limits, the plan)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from ._amounts import MAX_AMOUNT
from ._staff import StaffState
from ._states import CardStatus, OrNewer, SubscriptionStatus, VoucherStatus

__all__ = [
    "BranchState",
    "CardState",
    "ChangesPage",
    "DealState",
    "OfflineLimitsBody",
    "PlanState",
    "ProductState",
    "SnapshotPage",
    "TrustListDocument",
    "VoucherState",
]

SUSPENDED_BY_OPERATORS = (
    "true while Tillpoint's operators have suspended the business (the console): it sells "
    "nothing new and its listing edits are refused; cards and vouchers already sold stay "
    "redeemable. Billing's suspension, for an unpaid invoice, is the plan's status. The "
    "operator's reason stays in the audit log. False from older servers"
)

# The key trust list as JSON: `sync.tokens.TrustList.from_json` reads it, `to_json` writes it.
TrustListDocument = dict[str, Any]


class CardState(BaseModel):
    id: str
    currency: str
    balance_minor: int
    # A state this till does not know is not `active`: it approves nothing on it offline.
    status: OrNewer[CardStatus]
    expires_at: datetime
    version: int


class VoucherState(BaseModel):
    id: str
    deal_id: str
    # A state this till does not know is not `issued`: it accepts none offline.
    status: OrNewer[VoucherStatus]
    face_minor: int
    currency: str
    expires_at: datetime
    version: int


class DealState(BaseModel):
    id: str
    title: str
    deal_price_minor: int
    currency: str
    starts_at: datetime
    ends_at: datetime
    ended: bool
    version: int


class ProductState(BaseModel):
    id: str
    name: str
    price_minor: int
    currency: str
    version: int = Field(description="send it as base_version with an edit")


class BranchState(BaseModel):
    id: str
    name: str
    address: str
    # Both added with branch edits: a page from an older server leaves them out.
    opening_hours: dict[str, Any] = Field(default={}, description="as the directory shows it")
    version: int = Field(default=1, description="send it as base_version with an edit")


class OfflineLimitsBody(BaseModel):
    """What a terminal may approve offline. Amounts are minor units of the business's
    currency; a cache older than `max_cache_age_seconds` allows at most
    `stale_cache_max_minor` per redemption (0: none)."""

    max_single_minor: int = Field(ge=0, le=MAX_AMOUNT, description="one redemption")
    max_per_card_minor: int = Field(ge=0, le=MAX_AMOUNT, description="one card, one terminal")
    max_unsynced_minor: int = Field(ge=0, le=10 * MAX_AMOUNT, description="all not yet synced")
    max_cache_age_seconds: int = Field(ge=60, le=30 * 86400)
    stale_cache_max_minor: int = Field(ge=0, le=MAX_AMOUNT)

    # Each no larger than the next: one redemption, one card's, all the till's unsynced.
    NESTED: ClassVar[tuple[tuple[str, str], ...]] = (
        ("max_single_minor", "max_per_card_minor"),
        ("max_per_card_minor", "max_unsynced_minor"),
    )

    def contradiction(self) -> tuple[str, str] | None:
        """The first pair of limits out of order, (smaller, larger), as NESTED names them:
        a limit no redemption could reach as set. None when they nest."""
        for smaller, larger in self.NESTED:
            if getattr(self, smaller) > getattr(self, larger):
                return smaller, larger
        return None


class PlanState(BaseModel):
    """The business's plan as the vendor screens show it: its limit and the usage."""

    name: str
    max_products: int | None = Field(description="null: unlimited")
    products: int
    status: OrNewer[SubscriptionStatus]
    hibernating: bool
    pending_plan: str | None = Field(description="a tier change waiting out its grace")


class ChangesPage(BaseModel):
    cursor: int = Field(description="send it back as ?cursor= for what changed after this page")
    more: bool = Field(description="true: pull again at once for the rest")
    cards: list[CardState]
    vouchers: list[VoucherState]
    deals: list[DealState]
    products: list[ProductState]
    branches: list[BranchState]
    revoked_token_ids: list[str] = Field(description="cti of tokens replaced by a re-issue")
    removed_products: list[str] = Field(default=[], description="products deleted since")
    removed_branches: list[str] = Field(default=[], description="branches closed since")
    staff: list[StaffState] = Field(default=[], description="till staff whose PIN or role changed")
    removed_staff: list[str] = Field(default=[], description="till staff whose PIN was cleared")
    trust_list: TrustListDocument
    offline_limits: OfflineLimitsBody
    plan: PlanState | None = Field(default=None, description="null: no subscription")
    business_name: str | None = Field(
        default=None, description="the business's name, for receipts; null from older servers"
    )
    suspended_by_operators: bool = Field(default=False, description=SUSPENDED_BY_OPERATORS)
    business_time_zone: str | None = Field(
        default=None,
        description="the business's IANA time zone: which day is today at its tills; null "
        "from older servers",
    )
    cursor_mark: str | None = Field(
        default=None,
        description="what tells the change at `cursor` from another given its position "
        "later: send it back as ?mark= with the cursor. Null at the log's start and from "
        "older servers",
    )
    cursor_ahead: bool = Field(
        default=False,
        description="true: the cursor sent is past the log's head, or its mark is not the "
        "change's at that position (the server's database was restored from an older "
        "backup), so what the terminal cached may be gone and the positions it passed are "
        "handed out anew. Take a fresh snapshot, replacing the cache. The page holds the "
        "changes from the log's start, for terminals older than this field. False from "
        "older servers",
    )


class SnapshotPage(BaseModel):
    """The first sync, in pages of cards; everything else comes with the first page."""

    cursor: int = Field(
        description="the change feed's position when the snapshot began: "
        "pull changes from here once all pages are in"
    )
    cursor_mark: str | None = Field(
        default=None,
        description="the mark of the change at `cursor`: send it with the cursor "
        "(ChangesPage.cursor_mark). Null at the log's start and from older servers",
    )
    next_after: str | None = Field(description="pass as ?after= for the next page; null at the end")
    cards: list[CardState]
    vouchers: list[VoucherState]
    deals: list[DealState]
    products: list[ProductState]
    branches: list[BranchState]
    revoked_token_ids: list[str]
    trust_list: TrustListDocument
    offline_limits: OfflineLimitsBody
    plan: PlanState | None = None
    staff: list[StaffState] = Field(default=[], description="who can sign in at the till")
    business_name: str | None = Field(
        default=None, description="the business's name, for receipts; null from older servers"
    )
    suspended_by_operators: bool = Field(default=False, description=SUSPENDED_BY_OPERATORS)
    business_time_zone: str | None = Field(
        default=None,
        description="the business's IANA time zone: which day is today at its tills; null "
        "from older servers",
    )
