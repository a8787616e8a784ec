"""Notifications (DESIGN.md §14): the event log read into an outbox, delivered by a worker
by email, push and the in-app inbox, as each person's preferences allow."""

from .channels import (
    DeliveryError,
    EmailSender,
    FakePushTransport,
    OutgoingEmail,
    PushMessage,
    PushTransport,
    SmtpSender,
    make_push_transport,
)
from .models import (
    REQUIRED_KINDS,
    Channel,
    Delivery,
    InboxItem,
    Notification,
    NotificationCursor,
    NotificationKind,
    NotificationPreference,
    PushDevice,
)
from .worker import NotificationRound, NotificationWorker

__all__ = [
    "REQUIRED_KINDS",
    "Channel",
    "Delivery",
    "DeliveryError",
    "EmailSender",
    "FakePushTransport",
    "InboxItem",
    "Notification",
    "NotificationCursor",
    "NotificationKind",
    "NotificationPreference",
    "NotificationRound",
    "NotificationWorker",
    "OutgoingEmail",
    "PushDevice",
    "PushMessage",
    "PushTransport",
    "SmtpSender",
    "make_push_transport",
]
