"""The jobs that keep time-bound things honest: card expiry, hold expiry, deal ends, the
results of contests that have ended; the folding of businesses' liability changes, and the
payments owed back that were not refunded at once. `run_due_jobs` runs them once (`tillpoint
server run-jobs`); `JobRunner` runs them and the billing run on a schedule (`tillpoint
server jobs`), each on its own, counted in the `tillpoint_jobs_*` metrics."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy.orm import Session

from .billing.run import RunSummary
from .contests.results import finish_due
from .db import utcnow
from .deals.service import end_deals
from .keys.keyring import Keyring
from .notifications.outbox import Channels
from .outbox import RoundMetrics, Rounds
from .payments import PaymentGateway
from .wallet.cards import expire_cards, expire_holds
from .wallet.ledger import fold_liabilities
from .wallet.purchase import give_back, owed

__all__ = [
    "BILLING",
    "DueJob",
    "JobRunner",
    "JobsDone",
    "JobsFailed",
    "JobsRound",
    "billing_words",
    "describe",
    "due_jobs",
    "run_due_jobs",
]

log = logging.getLogger("tillpoint.jobs")

T = TypeVar("T")

BILLING = "billing"  # the billing run's name among the jobs

RUNS = Counter("tillpoint_jobs_runs_total", "Runs of a job, failed ones too", ["job"])
FAILURES = Counter(
    "tillpoint_jobs_failures_total",
    "Runs of a job that failed: logged with the error; the job runs again the next round",
    ["job"],
)
LAST_SUCCESS = Gauge(
    "tillpoint_jobs_last_success_timestamp_seconds",
    "When a job last ran to its end (Unix time)",
    ["job"],
    multiprocess_mode="max",
)
DURATION = Histogram(
    "tillpoint_jobs_duration_seconds",
    "Time a run of a job took, failed ones too",
    ["job"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900),
)
DONE = Counter(
    "tillpoint_jobs_done_total",
    "What jobs did: cards expired, holds released, deals ended, contests finished, "
    "businesses whose liability changes were folded, payments given back; billing: invoices "
    "issued and payments collected",
    ["job"],
)
NOT_BILLED = Counter(
    "tillpoint_jobs_not_billed_total",
    "Businesses a billing run could not bill (an exchange rate is missing: each is logged); "
    "the next run tries them again",
)
REFUNDS_OWED = Gauge(
    "tillpoint_jobs_refunds_owed",
    "Payments owed back that the payment provider has not refunded yet (read once a round)",
    multiprocess_mode="mostrecent",
)
REFUNDS_OWED_AGE = Gauge(
    "tillpoint_jobs_refunds_owed_oldest_seconds",
    "How long the payment owed back longest has been owed; 0 when none is",
    multiprocess_mode="mostrecent",
)
ROUNDS = RoundMetrics(
    Counter("tillpoint_jobs_rounds_total", "Rounds of the job runner in which every job ran"),
    Counter(
        "tillpoint_jobs_round_failures_total",
        "Rounds of the job runner in which a job failed (the others still ran)",
    ),
    Gauge(
        "tillpoint_jobs_round_last_success_timestamp_seconds",
        "When the job runner last finished a round in which every job ran (Unix time)",
        multiprocess_mode="max",
    ),
    Histogram(
        "tillpoint_jobs_round_duration_seconds",
        "Time a round of the job runner took",
        buckets=(0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600),
    ),
)

# What each job did, in words: `describe`.
WORDS = {
    "cards": "cards expired",
    "holds": "holds released",
    "deals": "deals ended",
    "contests": "contests finished",
    "liabilities": "businesses' gift-card liability folded",
    "refunds": "payments given back",
}


@dataclass(frozen=True)
class JobsDone:
    cards: int
    holds: int
    deals: int
    contests: int
    liabilities: int
    refunds: int


@dataclass(frozen=True, slots=True)
class DueJob:
    """A job of each round: its name (the metrics' `job` label), and its work: what is due
    by a moment, done in the session given; how many things it did. The caller commits."""

    name: str
    run: Callable[[Session, datetime], int]


def due_jobs(keyring: Keyring, channels: Channels, gateway: PaymentGateway) -> tuple[DueJob, ...]:
    """The due jobs, in the order they run. Contests' prize cards are signed with `keyring`,
    their winners told on `channels`; the payments still owed are given back through
    `gateway` (`wallet.purchase.give_back`). The last two take a transaction a business or
    a refund of their own."""
    return (
        DueJob("cards", expire_cards),
        DueJob("holds", expire_holds),
        DueJob("deals", end_deals),
        DueJob("contests", lambda session, now: finish_due(session, now, keyring, channels)),
        DueJob("liabilities", lambda session, now: fold_liabilities(session)),
        DueJob("refunds", lambda session, now: give_back(gateway, session)),
    )


def run_due_jobs(
    session: Session,
    now: datetime,
    keyring: Keyring,
    channels: Channels,
    gateway: PaymentGateway,
) -> JobsDone:
    """Run every due job once (`due_jobs`), each committed on its own; running them again at
    once finds nothing due."""
    done = {}
    for job in due_jobs(keyring, channels, gateway):
        done[job.name] = job.run(session, now)
        session.commit()
    return JobsDone(**done)


def describe(done: Mapping[str, int]) -> str:
    """What the due jobs did, in words: "2 cards expired, 0 holds released, …"."""
    return ", ".join(f"{count} {WORDS.get(name, name)}" for name, count in done.items())


class JobsFailed(Exception):
    """Some jobs of a round failed, each logged with its error; the others ran, and `done`
    says what they did."""

    def __init__(self, jobs: Sequence[str], done: JobsRound | None = None) -> None:
        self.jobs, self.done = tuple(jobs), done
        super().__init__(
            f"{', '.join(self.jobs)} failed (the errors are logged above); the next round "
            "runs them again"
        )


@dataclass(frozen=True, slots=True)
class JobsRound:
    """What a round did: each due job's count, and the billing run's summary if it ran."""

    done: dict[str, int]
    billing: RunSummary | None = None


class JobRunner(Rounds):
    """The job runner (`tillpoint server jobs`). Each round runs every due job, each in a
    session of its own, so one that fails does not stop the others; then `bill` (the
    billing run, for the day of `clock`) when `billing_interval` seconds have passed since
    the start of the last one that ran to its end — one that failed runs again the next
    round. A round in which a job failed raises `JobsFailed` once the others ran (so it
    touches no heartbeat). Every run is counted in the `tillpoint_jobs_*` metrics, and the
    payments still owed back are read once a round."""

    def __init__(
        self,
        sessions: Callable[[], Session],
        jobs: Sequence[DueJob],
        bill: Callable[[date], RunSummary] | None,
        billing_interval: float,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.sessions, self.jobs, self.bill, self.clock = sessions, tuple(jobs), bill, clock
        self.billing_interval = billing_interval
        self._billed_at: float | None = None  # monotonic start of the last billing run
        for name in [job.name for job in self.jobs] + ([BILLING] if bill else []):
            for family in (RUNS, FAILURES, DONE):  # at 0, so a first failure is an increase
                family.labels(name)
        super().__init__("jobs", log, ROUNDS)

    def run_once(self) -> JobsRound:
        now = self.clock()
        done: dict[str, int] = {}
        failed: list[str] = []
        for job in self.jobs:
            count = self._measured(job.name, functools.partial(self._in_session, job, now))
            if count is None:
                failed.append(job.name)
            else:
                done[job.name] = count
                DONE.labels(job.name).inc(count)
        summary = None
        started = time.monotonic()
        if self.bill is not None and (
            self._billed_at is None or started - self._billed_at >= self.billing_interval
        ):
            bill = self.bill
            summary = self._measured(BILLING, lambda: bill(now.date()))
            if summary is None:
                failed.append(BILLING)
            else:
                self._billed_at = started
                DONE.labels(BILLING).inc(summary.invoices + summary.paid)
                NOT_BILLED.inc(len(summary.problems))
        with self.sessions() as session:
            owed_now, first = owed(session)
        REFUNDS_OWED.set(owed_now)
        age = 0.0 if first is None else max(0.0, (self.clock() - first).total_seconds())
        REFUNDS_OWED_AGE.set(age)
        if failed:
            raise JobsFailed(failed, JobsRound(done, summary))
        return JobsRound(done, summary)

    def round(self) -> object:
        """A round on the schedule, logged when it did something (`--once` prints it
        instead), and when a job failed."""
        try:
            done = self.run_once()
        except JobsFailed as exc:
            if exc.done is not None:
                _log(exc.done)
            raise
        _log(done)
        return done

    def _in_session(self, job: DueJob, now: datetime) -> int:
        with self.sessions() as session:
            count = job.run(session, now)
            session.commit()
        return count

    def _measured(self, name: str, work: Callable[[], T]) -> T | None:
        """Run one job, counted and timed; None if it failed (logged)."""
        RUNS.labels(name).inc()
        started = time.perf_counter()
        try:
            result = work()
        except Exception:
            FAILURES.labels(name).inc()
            log.exception("the %s job failed; it runs again the next round", name)
            return None
        finally:
            DURATION.labels(name).observe(time.perf_counter() - started)
        LAST_SUCCESS.labels(name).set(time.time())
        return result


def _log(done: JobsRound) -> None:
    if any(done.done.values()):
        log.info("jobs round: %s", describe(done.done))
    if done.billing is not None:
        log.info("billing run: %s", billing_words(done.billing))
        for problem in done.billing.problems:
            log.warning("billing: not billed: %s", problem)


def billing_words(summary: RunSummary) -> str:
    """A billing run's summary in words (as `tillpoint server billing-run` prints it)."""
    return (
        f"{summary.businesses} businesses, {summary.invoices} invoices issued, "
        f"{summary.paid} payments collected, {summary.failed} failed (retries scheduled), "
        f"{summary.plan_changes} plan changes, {summary.suspended} suspended"
    )
