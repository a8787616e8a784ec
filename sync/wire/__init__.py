"""Everything that crosses the wire between a terminal and the server, typed once for both.

The server's routes take and answer these models; `sync.client.SyncClient` returns them;
the terminal reads their attributes and builds its event payloads from them. Renaming a
field here is the one edit, and mypy finds every use.
"""

from ._amounts import MAX_AMOUNT, MoneyPublic
from ._answers import (
    ProblemAnswer,
    RedemptionPublic,
    TerminalRedemption,
    TerminalVoucherRedemption,
    VoucherPublic,
)
from ._events import (
    EVENT_TYPES,
    VOID_WINDOW,
    DealEdit,
    EventIn,
    EventPayload,
    EventResult,
    EventStatus,
    EventType,
    GiftCardRedemption,
    ProductEdit,
    PushRequest,
    PushResponse,
    RedemptionVoid,
    TerminalEvent,
    VoucherRedemption,
    parse_payload,
)
from ._pages import (
    BranchState,
    CardState,
    ChangesPage,
    DealState,
    OfflineLimitsBody,
    PlanState,
    ProductState,
    SnapshotPage,
    TrustListDocument,
    VoucherState,
)
from ._pairing import (
    DeviceCredentials,
    PairingCodePublic,
    PairRequest,
    public_key_from_text,
    public_key_text,
)

__all__ = [
    "EVENT_TYPES",
    "MAX_AMOUNT",
    "VOID_WINDOW",
    "BranchState",
    "CardState",
    "ChangesPage",
    "DealEdit",
    "DealState",
    "DeviceCredentials",
    "EventIn",
    "EventPayload",
    "EventResult",
    "EventStatus",
    "EventType",
    "GiftCardRedemption",
    "MoneyPublic",
    "OfflineLimitsBody",
    "PairRequest",
    "PairingCodePublic",
    "PlanState",
    "ProblemAnswer",
    "ProductEdit",
    "ProductState",
    "PushRequest",
    "PushResponse",
    "RedemptionPublic",
    "RedemptionVoid",
    "SnapshotPage",
    "TerminalEvent",
    "TerminalRedemption",
    "TerminalVoucherRedemption",
    "TrustListDocument",
    "VoucherPublic",
    "VoucherRedemption",
    "VoucherState",
    "parse_payload",
    "public_key_from_text",
    "public_key_text",
]
