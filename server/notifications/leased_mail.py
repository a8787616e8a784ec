"""Emails that are outbox rows of their own (a gift's email, a gift's receipt): each round
claims the rows due (leased as notifications are: `server.outbox.claims`), emails each once,
and marks it sent, or retries it with the notifications' backoff when the mail server
refuses — or when its email cannot be made or sent for a fault of ours (logged with its
traceback): that row is given up on after its last try like any other, and the rest of the
batch goes on. No transaction stays open while the mail server answers. As with
notifications, a process dying between the mail server's acceptance and the mark may send
one twice; both carry the row's own Message-ID. A kind of email says what its row is
(`table`), what to forget once it is done (`forgotten`), and what its email says
(`email_of`)."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import ClassVar, Generic, TypeVar

from sqlalchemy.orm import Session

from ..ids import make_id
from ..outbox import (
    Delivery,
    DeliveryRound,
    Leased,
    claim_due,
    lease_for,
    release,
    still_held,
    try_once,
)
from ..settings import Settings
from .channels import DeliveryError, EmailSender, OutgoingEmail
from .delivery import after_failure

__all__ = ["LeasedMailer"]

log = logging.getLogger("tillpoint.notifications")

Row = TypeVar("Row", bound=Leased)


class LeasedMailer(ABC, Generic[Row]):
    table: ClassVar[type[Leased]]
    what: ClassVar[str]  # the row as the log names it: "gift", "receipt"
    # Written with the row's last state, sent or given up on (a gift's code: not kept).
    forgotten: ClassVar[Mapping[str, object]] = {}

    def __init__(
        self,
        sessions: Callable[[], Session],
        settings: Settings,
        email: EmailSender | None,
        clock: Callable[[], datetime],
    ) -> None:
        self.sessions, self.settings, self.email, self.clock = sessions, settings, email, clock
        self.lease = lease_for(settings.smtp_timeout_seconds)

    @abstractmethod
    def email_of(self, session: Session, row: Row) -> OutgoingEmail:
        """What the row's email says, and to whom."""

    def deliver_due(self) -> DeliveryRound:
        """Claim the rows due (a batch) and email each once."""
        worker = make_id()
        now = self.clock()
        with self.sessions() as session:
            batch = self.settings.notifications_batch
            ids = claim_due(session, self.table, worker, now, now + self.lease, batch)
            session.commit()
        return DeliveryRound.of(self._deliver(worker, i) for i in ids)

    def _deliver(self, worker: str, row_id: str) -> Delivery | None:
        return try_once(
            self.what,
            row_id,
            lambda: self._send(worker, row_id),
            lambda sent: self._sent(worker, sent),
            lambda error: self._failed(worker, row_id, error),
        )

    def _send(self, worker: str, row_id: str) -> str | None:
        """Email the row, read while this worker's lease on it runs: its id, or None when
        that lease has run out."""
        with self.sessions() as session:
            row: Row | None = session.get(self.table, row_id)  # type: ignore[assignment]
            if row is None or not still_held(row, worker, self.clock()):
                return None  # the lease ran out before its turn: another worker has it
            email = self.email_of(session, row)
        if self.email is None:
            raise DeliveryError("no mail server is set (TILLPOINT_SMTP_HOST)")
        self.email.send(email)
        return row_id

    def _sent(self, worker: str, row_id: str) -> Delivery:
        with self.sessions() as session:
            done = {"status": Delivery.SENT, "sent_at": self.clock(), **self.forgotten}
            marked = release(session, self.table, row_id, worker, done)
            session.commit()
        if not marked:
            log.warning("%s %s was emailed but its claim had been taken over", self.what, row_id)
        return Delivery.SENT

    def _failed(self, worker: str, row_id: str, error: str) -> Delivery | None:
        with self.sessions() as session:
            row = session.get(self.table, row_id)
            if row is None:
                return None  # forgotten meanwhile: nothing to release
            attempts = row.attempts
            values, outcome = after_failure(
                self.settings, attempts, error, self.clock(), dict(self.forgotten)
            )
            release(session, self.table, row_id, worker, values)
            session.commit()
        if outcome is Delivery.FAILED:
            log.warning("%s %s failed after %s tries: %s", self.what, row_id, attempts, error)
        return outcome
