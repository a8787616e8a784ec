"""The worker's sending: claim due deliveries of enabled endpoints, send them several at
once, log each attempt, and mark the delivery sent, due again on the schedule, or given up.

Claims are leases (`server.outbox.claims`): a delivery is sent by one worker at a time,
outside any transaction, and the lease is far longer than a send may take (the timeout).
A worker that dies after the receiver answered and before the mark commits leaves it to be
sent again after the lease: at least once, with the same webhook-id, as the spec expects
receivers to handle. A try is its delivery's alone (`server.outbox.try_once`): one that
meets a fault of ours (its body cannot be signed, the sender raises) is logged with its
traceback, counted a failed attempt and tried again on the schedule, and the rest of the
round goes on.

An endpoint is disabled (and its owner told) when it answers 410 Gone (that delivery
waits), or when a delivery is given up after the whole schedule and nothing reached the
endpoint since that delivery's first attempt. Deliveries of a disabled endpoint wait, and
so do the events after them (see `consumer`); enabled again, they go.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from ..ids import make_id
from ..outbox import (
    Delivery,
    DeliveryRound,
    claim_due,
    lease_for,
    release,
    still_held,
    try_once,
)
from . import repository, service
from .consumer import message_id
from .models import AttemptOutcome, EndpointStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from .signing import signed_headers
from .transport import Answer, Sender

__all__ = ["WebhookDeliverer"]

log = logging.getLogger("tillpoint.webhooks")

GONE = 410


@dataclass(frozen=True, slots=True)
class _Job:
    """What one attempt needs, read before it is sent."""

    delivery_id: str
    endpoint_id: str
    attempts: int
    url: str
    secrets: list[str]
    message_id: str
    payload: str


class WebhookDeliverer:
    def __init__(
        self,
        sessions: Callable[[], Session],
        sender: Sender,
        *,
        schedule: Sequence[float],
        batch: int,
        concurrency: int,
        timeout: float,
        clock: Callable[[], datetime],
    ) -> None:
        self.sessions, self.sender, self.clock = sessions, sender, clock
        self.schedule = [timedelta(seconds=s) for s in schedule]
        self.batch, self.concurrency = batch, concurrency
        self.lease = lease_for(timeout)

    def deliver_due(self) -> DeliveryRound:
        """Claim due deliveries, `concurrency` at a time, and try each once, until none is
        due or a batch has been tried."""
        worker = make_id()
        enabled = WebhookDelivery.endpoint_id.in_(
            select(WebhookEndpoint.id).where(WebhookEndpoint.status == EndpointStatus.ENABLED)
        )
        outcomes: list[Delivery | None] = []
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="webhook") as pool:
            while len(outcomes) < self.batch:
                now = self.clock()
                with self.sessions() as session:
                    ids = claim_due(
                        session,
                        WebhookDelivery,
                        worker,
                        now,
                        now + self.lease,
                        min(self.concurrency, self.batch - len(outcomes)),
                        enabled,
                    )
                    session.commit()
                if not ids:
                    break
                outcomes.extend(pool.map(lambda i: self._deliver(worker, i), ids))
        return DeliveryRound.of(outcomes)

    def _deliver(self, worker: str, delivery_id: str) -> Delivery | None:
        return try_once(
            "webhook",
            delivery_id,
            lambda: self._send(worker, delivery_id),
            lambda sent: self._answered(worker, *sent),
            lambda error: self._failed(worker, delivery_id, error),
        )

    def _send(self, worker: str, delivery_id: str) -> tuple[_Job, Answer, datetime] | None:
        """Sign and send the delivery, read while this worker's lease on it runs: the job,
        the receiver's answer and when it was sent. None when there is nothing to send."""
        with self.sessions() as session:
            row = session.get_one(WebhookDelivery, delivery_id)
            if not still_held(row, worker, self.clock()):
                return None  # the lease ran out before its turn: another worker has it
            endpoint = session.get_one(WebhookEndpoint, row.endpoint_id)
            if endpoint.status is EndpointStatus.DELETED:
                return None  # deleted since the claim: its deliveries were given up
            at = self.clock()
            job = _Job(
                row.id,
                endpoint.id,
                row.attempts,
                endpoint.url,
                service.active_secrets(endpoint, at),
                message_id(row.event_id, row.id),
                row.payload,
            )
        # No transaction stays open while a receiver answers.
        headers = signed_headers(job.message_id, at, job.payload, job.secrets)
        return job, self.sender.send(job.url, headers, job.payload), at

    def _answered(self, worker: str, job: _Job, answer: Answer, at: datetime) -> Delivery | None:
        with self.sessions() as session:
            session.add(
                WebhookAttempt(
                    delivery_id=job.delivery_id,
                    attempted_at=at,
                    outcome=answer.outcome,
                    status_code=answer.status_code,
                    response_body=answer.body,
                    error=answer.error,
                    duration_ms=answer.duration_ms,
                )
            )
            outcome = self._settle(session, worker, job, answer, at)
            session.commit()
        return outcome

    def _failed(self, worker: str, delivery_id: str, error: str) -> Delivery | None:
        """A try that met a fault of ours (logged by `try_once`): released to be tried again
        on the schedule, or given up after its last try. The endpoint is not to blame, so it
        stays enabled."""
        at = self.clock()
        error = f"not sent: a fault in Tillpoint ({error})"
        with self.sessions() as session:
            row = session.get(WebhookDelivery, delivery_id)
            if row is None:
                return None  # forgotten meanwhile: nothing to release
            attempts = row.attempts
            session.add(
                WebhookAttempt(
                    delivery_id=delivery_id,
                    attempted_at=at,
                    outcome=AttemptOutcome.FAILED,
                    status_code=None,
                    response_body="",
                    error=error,
                    duration_ms=0,
                )
            )
            values: dict[str, object] = {"last_status_code": None, "last_error": error}
            if attempts <= len(self.schedule):
                outcome = Delivery.PENDING
                values["next_attempt_at"] = at + self.schedule[attempts - 1]
            else:
                outcome = Delivery.FAILED
                values["status"] = Delivery.FAILED
            if not release(session, WebhookDelivery, delivery_id, worker, values):
                return None
            session.commit()
        if outcome is Delivery.FAILED:
            log.warning("webhook %s failed after %s tries: %s", delivery_id, attempts, error)
        return outcome

    def _settle(
        self, session: Session, worker: str, job: _Job, answer: Answer, at: datetime
    ) -> Delivery | None:
        """Mark the delivery after its attempt: sent, due again, or given up (and the
        endpoint disabled when it is gone or has failed all along)."""
        common: dict[str, object] = {"last_status_code": answer.status_code}
        if answer.outcome is AttemptOutcome.SUCCEEDED:
            marked = release(
                session,
                WebhookDelivery,
                job.delivery_id,
                worker,
                {**common, "status": Delivery.SENT, "sent_at": at, "last_error": ""},
            )
            session.execute(
                update(WebhookEndpoint)
                .where(
                    WebhookEndpoint.id == job.endpoint_id,
                    or_(
                        WebhookEndpoint.last_success_at.is_(None),
                        WebhookEndpoint.last_success_at < at,
                    ),
                )
                .values(last_success_at=at)
            )
            if not marked:
                log.warning(
                    "webhook %s was sent but its claim had been taken over", job.delivery_id
                )
            return Delivery.SENT
        common["last_error"] = answer.error
        if answer.status_code == GONE:
            # The endpoint is disabled at once, and this delivery waits with what comes
            # after it: sent when its owner enables the endpoint again.
            if not release(
                session,
                WebhookDelivery,
                job.delivery_id,
                worker,
                {**common, "next_attempt_at": at},
            ):
                return None
            reason = "it answered 410 Gone"
            service.disable_for_failure(session, job.endpoint_id, job.delivery_id, reason, at)
            log.warning("webhook endpoint %s disabled: %s", job.endpoint_id, reason)
            return Delivery.PENDING
        if job.attempts <= len(self.schedule):
            due = at + self.schedule[job.attempts - 1]
            release(
                session,
                WebhookDelivery,
                job.delivery_id,
                worker,
                {**common, "next_attempt_at": due},
            )
            return Delivery.PENDING
        if not release(
            session, WebhookDelivery, job.delivery_id, worker, {**common, "status": Delivery.FAILED}
        ):
            return None
        since = self._failing_since(session, job)
        if since is None:
            return Delivery.FAILED
        reason = (
            f"nothing reached it since {since:%Y-%m-%d %H:%M} UTC; a delivery failed all "
            f"{job.attempts} attempts (the last {answer.error})"
        )
        service.disable_for_failure(session, job.endpoint_id, job.delivery_id, reason, at)
        log.warning("webhook endpoint %s disabled: %s", job.endpoint_id, reason)
        return Delivery.FAILED

    def _failing_since(self, session: Session, job: _Job) -> datetime | None:
        """This delivery's first attempt, if nothing reached the endpoint since; else None."""
        first = repository.first_attempt_at(session, job.delivery_id)
        last_success = session.get_one(WebhookEndpoint, job.endpoint_id).last_success_at
        if first is None or (last_success is not None and last_success >= first):
            return None
        return first
