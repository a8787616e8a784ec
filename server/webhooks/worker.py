"""The webhook worker: each round reads the event log into deliveries (`consume`) and sends
what is due (`WebhookDeliverer`). The server runs one in a daemon thread every
TILLPOINT_WEBHOOKS_INTERVAL_SECONDS; `tillpoint server worker` runs one beside the
notification worker. Several at once are safe (see `consumer` and `delivery`)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from ..db import utcnow
from ..outbox import Round, Rounds
from ..settings import Settings
from .consumer import consume
from .delivery import WebhookDeliverer
from .transport import HttpSender, Sender

__all__ = ["WebhookWorker"]

log = logging.getLogger("tillpoint.webhooks")


class WebhookWorker(Rounds):
    """`sender` replaces the HTTP one; `clock` and `schedule` (seconds before each retry)
    let tests walk the retry schedule without waiting for it."""

    def __init__(
        self,
        sessions: Callable[[], Session],
        settings: Settings,
        *,
        sender: Sender | None = None,
        clock: Callable[[], datetime] = utcnow,
        schedule: Sequence[float] | None = None,
    ) -> None:
        self.sessions, self.settings, self.clock = sessions, settings, clock
        self._own_sender = (
            HttpSender(
                settings.webhooks_timeout_seconds,
                allow_private=settings.webhooks_allow_private_urls,
            )
            if sender is None
            else None
        )
        self.sender: Sender = sender or self._own_sender  # type: ignore[assignment]
        self.deliverer = WebhookDeliverer(
            sessions,
            self.sender,
            schedule=schedule if schedule is not None else settings.webhooks_retry_schedule_seconds,
            batch=settings.webhooks_batch,
            concurrency=settings.webhooks_concurrency,
            timeout=settings.webhooks_timeout_seconds,
            clock=clock,
        )
        super().__init__("webhooks", log)

    def run_once(self) -> Round:
        """Read what the log has new, then send what is due."""
        events = consume(self.sessions, self.settings.webhooks_batch, self.clock())
        return Round(events, self.deliverer.deliver_due())

    def stop(self) -> None:
        super().stop()
        if self._own_sender is not None:
            self._own_sender.close()
