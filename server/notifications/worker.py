"""The notification worker: each round reads the event log into the outbox (`consume`),
adds the reminders the clock makes due (`remind`, every TILLPOINT_REMINDERS_INTERVAL_SECONDS)
and delivers what is due (`Deliverer`), gift emails and their receipts too (`GiftMailer`,
`ReceiptMailer`). The server runs one in a daemon thread every
TILLPOINT_NOTIFICATIONS_INTERVAL_SECONDS; `tillpoint server worker` runs one as its own
process. Several at once are safe (see `consumer`, `reminders`,
`delivery`, `gift_mail` and `receipt_mail`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from ..db import utcnow
from ..outbox import DeliveryRound, Round, Rounds
from ..realtime.wakeups import Wakeups, inbox_key
from ..settings import Settings
from .channels import EmailSender, PushTransport, SmtpSender
from .consumer import ConsumerOptions, consume
from .delivery import Deliverer
from .gift_mail import GiftMailer
from .metrics import observe_round
from .outbox import Channels
from .receipt_mail import ReceiptMailer
from .reminders import remind

__all__ = ["NotificationRound", "NotificationWorker"]

log = logging.getLogger("tillpoint.notifications")


@dataclass(frozen=True, slots=True)
class NotificationRound(Round):
    reminders: int = 0  # reminders the clock made due, new in the outbox
    # What sending the gift emails whose delivery time had come came to.
    gifts: DeliveryRound = field(default_factory=DeliveryRound)
    # What sending the receipts of gifts bought without an account came to.
    receipts: DeliveryRound = field(default_factory=DeliveryRound)


class NotificationWorker(Rounds):
    def __init__(
        self,
        sessions: Callable[[], Session],
        settings: Settings,
        *,
        email: EmailSender | None = None,
        push: PushTransport | None = None,
        clock: Callable[[], datetime] = utcnow,
        wakeups: Wakeups | None = None,
    ) -> None:
        if email is None and settings.smtp_host:
            email = SmtpSender(settings)
        self.sessions, self.settings, self.clock = sessions, settings, clock
        self.options = ConsumerOptions(
            channels=Channels(email=email is not None, push=push is not None),
            low_balance_minor=settings.low_balance_threshold_minor,
            batch=settings.notifications_batch,
            deal_alert_radius_km=settings.deal_alert_radius_km,
        )
        self._reminded_at: float | None = None  # monotonic time of the last reminders

        def inbox_changed(user_id: str) -> None:
            if wakeups is not None:  # the person's inbox streams, in every worker
                wakeups.publish(frozenset({inbox_key(user_id)}))

        self.deliverer = Deliverer(sessions, settings, email, push, clock, inbox_changed)
        self.gift_mailer = GiftMailer(sessions, settings, email, clock)
        self.receipt_mailer = ReceiptMailer(sessions, settings, email, clock)
        super().__init__("notifications", log)

    def run_once(self, reminders: bool = True) -> NotificationRound:
        """Read what the log has new, look for reminders due (unless told not to), then
        deliver what is due."""
        now = self.clock()
        events = consume(self.sessions, self.options, now)
        reminded = 0
        if reminders:
            with self.sessions() as session:
                reminded = remind(session, self.options.channels, now)
                session.commit()
            self._reminded_at = time.monotonic()
        delivered = self.deliverer.deliver_due()
        gifts = self.gift_mailer.deliver_due()
        receipts = self.receipt_mailer.deliver_due()
        done = NotificationRound(events, delivered, reminded, gifts, receipts)
        observe_round(self.sessions, done, self.clock())  # its metrics, and the backlog
        return done

    def round(self) -> object:
        """A round on the schedule: reminders only every reminders_interval_seconds."""
        last = self._reminded_at
        due = last is None or time.monotonic() - last >= self.settings.reminders_interval_seconds
        return self.run_once(reminders=due)
