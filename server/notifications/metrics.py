"""What a notifications round adds to the workers' metrics (`server.outbox.metrics`): the
events it read, the reminders it made, what sending gift emails and their receipts came to
(notifications count their own tries by channel as they make them, in `delivery`), and the
backlog of each kind, read once a round in three aggregate queries."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from ..gifts.models import Gift, GiftReceipt
from ..outbox import Backlog, backlog
from ..outbox.metrics import EVENTS, REMINDERS, count_deliveries, waiting
from .models import Channel, Notification

if TYPE_CHECKING:
    from .worker import NotificationRound

__all__ = ["GIFT_EMAIL", "GIFT_RECEIPT", "observe_round"]

WORKER = "notifications"
GIFT_EMAIL, GIFT_RECEIPT = "gift_email", "gift_receipt"  # the kinds beside the channels


def observe_round(sessions: Callable[[], Session], done: NotificationRound, now: datetime) -> None:
    EVENTS.labels(WORKER).inc(done.events)
    REMINDERS.labels(WORKER).inc(done.reminders)
    count_deliveries(GIFT_EMAIL, done.gifts)
    count_deliveries(GIFT_RECEIPT, done.receipts)
    with sessions() as session:
        by_channel = backlog(session, Notification, now, by=Notification.channel)
        gifts = backlog(session, Gift, now).get(None, Backlog())
        receipts = backlog(session, GiftReceipt, now).get(None, Backlog())
    for channel in Channel:
        waiting(channel, by_channel.get(channel, Backlog()), now)
    waiting(GIFT_EMAIL, gifts, now)
    waiting(GIFT_RECEIPT, receipts, now)
