"""Every area's tables, imported in one place so the metadata is complete
(for migrations, `create_all` in tests, and relationships across areas)."""

from .accounts.models import (
    AccountCode,
    AccountSession,
    RecoveryCode,
    RefreshToken,
    RevokedDevice,
    Role,
    User,
)
from .billing.models import (
    Adjustment,
    BillingNotice,
    ExchangeRate,
    Invoice,
    InvoiceLine,
    PriceItem,
    Subscription,
)
from .community.models import Club, ClubInvitation, ClubMember
from .console.models import AdminAction
from .contests.models import Contest, ContestEntry, ContestPoints, ContestResult
from .db import Base
from .deals.models import Deal, DealView, Voucher
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
from .gifts.models import Gift, GiftReceipt
from .notifications.models import (
    InboxItem,
    Notification,
    NotificationCursor,
    NotificationPreference,
    PushDevice,
)
from .preferences.models import FavouriteBusiness, SavedDeal, Tastes
from .tillstaff.models import TillStaff
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
from .webhooks.models import WebhookAttempt, WebhookCursor, WebhookDelivery, WebhookEndpoint

__all__ = [
    "AccountCode",
    "AccountSession",
    "Adjustment",
    "AdminAction",
    "Base",
    "BillingNotice",
    "Branch",
    "Business",
    "ClientDevice",
    "Club",
    "ClubInvitation",
    "ClubMember",
    "Contest",
    "ContestEntry",
    "ContestPoints",
    "ContestResult",
    "Deal",
    "DealView",
    "Device",
    "Event",
    "EventCounter",
    "ExchangeRate",
    "FavouriteBusiness",
    "FraudActivity",
    "FraudDecision",
    "FraudReview",
    "FraudRule",
    "Gift",
    "GiftCard",
    "GiftReceipt",
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
    "RecoveryCode",
    "RefreshToken",
    "RevokedDevice",
    "Role",
    "SavedDeal",
    "SignInNotice",
    "StaffMember",
    "Subscription",
    "SyncEvent",
    "Tastes",
    "TillRedemption",
    "TillStaff",
    "Transfer",
    "User",
    "Voucher",
    "WebhookAttempt",
    "WebhookCursor",
    "WebhookDelivery",
    "WebhookEndpoint",
]
