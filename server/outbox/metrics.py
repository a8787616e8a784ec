"""The workers' Prometheus metrics (`tillpoint_worker_*`, docs/operations.md): how their
rounds go, what they read and sent, and what waits to be sent. They are counted where the
work is done, from what each part returns: no query a message, and the backlog read once a
round. Every family is labelled, so a process that runs no worker shows no series of them."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from prometheus_client import Counter, Gauge, Histogram

from .claims import Backlog, Delivery

if TYPE_CHECKING:
    from .rounds import DeliveryRound

__all__ = ["RoundMetrics", "count_deliveries", "delivered", "expect_deliveries", "waiting"]

ROUNDS = Counter(
    "tillpoint_worker_rounds_total", "Rounds a worker finished (rounds run)", ["worker"]
)
ROUND_FAILURES = Counter(
    "tillpoint_worker_round_failures_total",
    "Rounds a worker did not finish: an error, logged with its traceback; the next round "
    "tries again",
    ["worker"],
)
LAST_SUCCESS = Gauge(
    "tillpoint_worker_last_success_timestamp_seconds",
    "When a worker last finished a round (Unix time)",
    ["worker"],
    multiprocess_mode="max",
)
ROUND_SECONDS = Histogram(
    "tillpoint_worker_round_duration_seconds",
    "Time a worker's round took",
    ["worker"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 60, 300),
)
EVENTS = Counter(
    "tillpoint_worker_events_read_total",
    "Events a worker read from the event log into its outbox",
    ["worker"],
)
REMINDERS = Counter(
    "tillpoint_worker_reminders_total",
    "Reminders the clock made due (cards, vouchers, saved deals), written to the outbox",
    ["worker"],
)
DELIVERIES = Counter(
    "tillpoint_worker_deliveries_total",
    "Outbox rows tried, by kind (email, push, inbox, gift_email, gift_receipt, webhook) and "
    "outcome: sent; retrying (this try failed, the row is due again later); failed (given "
    "up after its last try: status 'failed' in its table, with last_error)",
    ["kind", "outcome"],
)
BACKLOG = Gauge(
    "tillpoint_worker_backlog",
    "Outbox rows due and not sent yet, by kind (read once a round)",
    ["kind"],
    multiprocess_mode="mostrecent",
)
BACKLOG_AGE = Gauge(
    "tillpoint_worker_backlog_oldest_seconds",
    "How long the row due longest has been due, by kind; 0 when none is (read once a round)",
    ["kind"],
    multiprocess_mode="mostrecent",
)

# An outbox row's outcome, as the metrics name it: "pending" after a try is a retry.
OUTCOMES = {Delivery.SENT: "sent", Delivery.PENDING: "retrying", Delivery.FAILED: "failed"}


@dataclass(frozen=True, slots=True)
class RoundMetrics:
    """The series a worker's rounds move (`server.outbox.Rounds`)."""

    rounds: Counter
    failures: Counter
    last_success: Gauge
    duration: Histogram

    @classmethod
    def of_worker(cls, name: str) -> RoundMetrics:
        """The `tillpoint_worker_*` series of the worker called `name`, at 0 until it runs."""
        return cls(
            ROUNDS.labels(name),
            ROUND_FAILURES.labels(name),
            LAST_SUCCESS.labels(name),
            ROUND_SECONDS.labels(name),
        )

    def finished(self, seconds: float) -> None:
        self.rounds.inc()
        self.duration.observe(seconds)
        self.last_success.set(time.time())

    def failed(self) -> None:
        self.failures.inc()


def expect_deliveries(*kinds: str) -> None:
    """Make each outcome's series of `kinds` at 0, so the first failure is an increase a
    rate or an alert sees, not a new series."""
    for kind in kinds:
        for outcome in OUTCOMES.values():
            DELIVERIES.labels(kind, outcome)


def delivered(kind: str, outcome: Delivery) -> Delivery:
    """Count one row's try; the outcome, for the caller to return."""
    DELIVERIES.labels(kind, OUTCOMES[outcome]).inc()
    return outcome


def count_deliveries(kind: str, done: DeliveryRound) -> None:
    """Count what a round's sending of one kind came to."""
    DELIVERIES.labels(kind, "sent").inc(done.sent)
    DELIVERIES.labels(kind, "retrying").inc(done.retrying)
    DELIVERIES.labels(kind, "failed").inc(done.failed)


def waiting(kind: str, due: Backlog, now: datetime) -> None:
    """Set the backlog of `kind` to what `due` says, its age as of `now`."""
    BACKLOG.labels(kind).set(due.rows)
    since = due.due_since
    BACKLOG_AGE.labels(kind).set(0.0 if since is None else max(0.0, (now - since).total_seconds()))
