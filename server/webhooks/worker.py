"""The webhook worker: each round reads the event log into deliveries (`consume`) and sends
what is due (`WebhookDeliverer`). The server runs one in a daemon thread every
TILLPOINT_WEBHOOKS_INTERVAL_SECONDS; `tillpoint server worker` runs one beside the
notification worker. Several at once are safe (see `consumer` and `delivery`)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from ..db import utcnow
from ..outbox import Round, Rounds
from ..outbox.metrics import EVENTS, count_deliveries, expect_deliveries, waiting
from ..settings import Settings
from . import repository
from .consumer import consume
from .delivery import WebhookDeliverer
from .transport import HttpSender, Sender

__all__ = ["WebhookWorker"]

log = logging.getLogger("tillpoint.webhooks")

KIND = "webhook"  # its deliveries' kind in the metrics
FORGET_EVERY = timedelta(hours=1)
FORGET_BATCH = 1000


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
        self._forgotten_at: datetime | None = None
        expect_deliveries(KIND)
        super().__init__("webhooks", log)

    def run_once(self) -> Round:
        """Read what the log has new, then send what is due; once an hour, forget what is
        older than the retention. What it came to, and what is still due, go to the
        metrics."""
        events = consume(self.sessions, self.settings.webhooks_batch, self.clock())
        done = Round(events, self.deliverer.deliver_due())
        now = self.clock()
        EVENTS.labels(self.name).inc(done.events)
        count_deliveries(KIND, done.delivery)
        with self.sessions() as session:
            waiting(KIND, repository.due_backlog(session, now), now)
        if self._forgotten_at is None or now - self._forgotten_at >= FORGET_EVERY:
            self.forget(now)
            self._forgotten_at = now
        return done

    def forget(self, now: datetime) -> int:
        """Delete finished deliveries past the retention, a thousand at a time; how many."""
        before = now - timedelta(days=self.settings.webhooks_retention_days)
        forgotten = 0
        while True:
            with self.sessions() as session:
                deleted = repository.forget_finished(session, before, FORGET_BATCH)
                session.commit()
            forgotten += deleted
            if deleted < FORGET_BATCH:
                return forgotten

    def stop(self) -> None:
        super().stop()
        if self._own_sender is not None:
            self._own_sender.close()
