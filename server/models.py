"""Every area's tables, imported in one place so the metadata is complete
(for migrations, `create_all` in tests, and relationships across areas)."""

from .accounts.models import RefreshToken, Role, User
from .billing.models import (
    Adjustment,
    BillingNotice,
    ExchangeRate,
    Invoice,
    InvoiceLine,
    PriceItem,
    Subscription,
)
from .db import Base
from .deals.models import Deal, Voucher
from .devices.models import (
    Device,
    Incident,
    OfflineLimits,
    PairingCode,
    SyncEvent,
    TillRedemption,
)
from .directory.models import Branch, Business, Product, StaffMember
from .events.models import Event, EventCounter
from .fraud.models import (
    ClientDevice,
    FraudActivity,
    FraudDecision,
    FraudReview,
    FraudRule,
    SignInNotice,
)
from .notifications.models import (
    InboxItem,
    Notification,
    NotificationCursor,
    NotificationPreference,
    PushDevice,
)
from .wallet.models import (
    GiftCard,
    Hold,
    HoldStatus,
    IdempotencyRecord,
    IssuedToken,
    LedgerAccount,
    PaymentCardLoad,
    Purpose,
    Transfer,
)

__all__ = [
    "Adjustment",
    "Base",
    "BillingNotice",
    "Branch",
    "Business",
    "ClientDevice",
    "Deal",
    "Device",
    "Event",
    "EventCounter",
    "ExchangeRate",
    "FraudActivity",
    "FraudDecision",
    "FraudReview",
    "FraudRule",
    "GiftCard",
    "Hold",
    "HoldStatus",
    "IdempotencyRecord",
    "InboxItem",
    "Incident",
    "Invoice",
    "InvoiceLine",
    "IssuedToken",
    "LedgerAccount",
    "Notification",
    "NotificationCursor",
    "NotificationPreference",
    "OfflineLimits",
    "PairingCode",
    "PaymentCardLoad",
    "PriceItem",
    "Product",
    "Purpose",
    "PushDevice",
    "RefreshToken",
    "Role",
    "SignInNotice",
    "StaffMember",
    "Subscription",
    "SyncEvent",
    "TillRedemption",
    "Transfer",
    "User",
    "Voucher",
]
