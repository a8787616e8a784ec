"""The notification worker: each round reads the event log into the outbox (`consume`) and
delivers what is due (`Deliverer`). The server runs one in a daemon thread every
TILLPOINT_NOTIFICATIONS_INTERVAL_SECONDS; `tillpoint server worker` runs one as its own
process. Several at once are safe (see `consumer` and `delivery`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from ..db import utcnow
from ..outbox import Round, Rounds
from ..settings import Settings
from .channels import EmailSender, PushTransport, SmtpSender
from .consumer import ConsumerOptions, consume
from .delivery import Deliverer

__all__ = ["NotificationWorker", "Round"]

log = logging.getLogger("tillpoint.notifications")


class NotificationWorker(Rounds):
    def __init__(
        self,
        sessions: Callable[[], Session],
        settings: Settings,
        *,
        email: EmailSender | None = None,
        push: PushTransport | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        if email is None and settings.smtp_host:
            email = SmtpSender(settings)
        self.sessions, self.settings, self.clock = sessions, settings, clock
        self.options = ConsumerOptions(
            email=email is not None,
            push=push is not None,
            low_balance_minor=settings.low_balance_threshold_minor,
            batch=settings.notifications_batch,
        )
        self.deliverer = Deliverer(sessions, settings, email, push, clock)
        super().__init__("notifications", log)

    def run_once(self) -> Round:
        """Read what the log has new, then deliver what is due."""
        events = consume(self.sessions, self.options, self.clock())
        return Round(events, self.deliverer.deliver_due())
