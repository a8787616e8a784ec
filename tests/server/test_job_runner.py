"""The job runner (`tillpoint server jobs`, `server.jobs.JobRunner`): every job runs on its
own, so one that fails is counted and the others still run; the billing run comes once an
interval, and again at once after one that failed; a round touches its heartbeat only when
every job ran; and each run is in the `tillpoint_jobs_*` metrics. Metrics are the
process's, so each test reads what moved while it ran. tests/e2e/test_metrics_of_rounds.py
scrapes them from the real command."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest

from server.billing.run import RunSummary
from server.jobs import BILLING, DueJob, JobRunner, JobsFailed, due_jobs
from server.notifications.outbox import Channels
from server.payments import SimulatedGateway
from server.wallet.models import PaymentRefund
from tests.server.api import create_deal
from tests.server.samples import Moved, value


def job(name: str, count: int = 0) -> DueJob:
    return DueJob(name, lambda session, now: count)


def broken(name: str) -> DueJob:
    def run(session, now) -> int:
        raise RuntimeError(f"{name} is broken")

    return DueJob(name, run)


class Billing:
    """A billing run that answers as scripted (an exception is raised), and the days it was
    asked for."""

    def __init__(self, *answers: RunSummary | Exception) -> None:
        self.answers, self.days = list(answers), list[date]()

    def __call__(self, day: date) -> RunSummary:
        self.days.append(day)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_a_failing_job_is_counted_and_the_jobs_after_it_still_run(sessions):
    started, moved = time.time(), Moved()
    runner = JobRunner(sessions, [job("tidy-a", 2), broken("tidy-b"), job("tidy-c", 1)], None, 3600)
    with pytest.raises(JobsFailed) as failed:
        runner.run_once()
    assert failed.value.jobs == ("tidy-b",)
    for name in ("tidy-a", "tidy-b", "tidy-c"):
        assert moved("tillpoint_jobs_runs_total", job=name) == 1
        assert moved("tillpoint_jobs_duration_seconds_count", job=name) == 1
    assert moved("tillpoint_jobs_failures_total", job="tidy-b") == 1
    assert moved("tillpoint_jobs_failures_total", job="tidy-c") == 0
    assert moved("tillpoint_jobs_done_total", job="tidy-a") == 2
    assert moved("tillpoint_jobs_done_total", job="tidy-c") == 1
    assert value("tillpoint_jobs_last_success_timestamp_seconds", job="tidy-c") >= started
    assert moved("tillpoint_jobs_last_success_timestamp_seconds", job="tidy-b") == 0


def test_billing_runs_once_an_interval_and_again_at_once_after_a_failure(sessions):
    today = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
    bill = Billing(
        RuntimeError("the gateway fell over"),
        RunSummary(
            businesses=3, invoices=1, paid=1, problems=["business b1: no EUR rate for 2027-03-01"]
        ),
    )
    runner = JobRunner(sessions, [], bill, 3600, clock=lambda: today)
    moved = Moved()
    with pytest.raises(JobsFailed):
        runner.run_once()
    assert moved("tillpoint_jobs_failures_total", job=BILLING) == 1
    # A business not billed is no failure of the run: it ran, and says which.
    second = runner.run_once()
    assert second.billing is not None
    assert second.billing.problems == ["business b1: no EUR rate for 2027-03-01"]
    assert moved("tillpoint_jobs_not_billed_total") == 1
    assert moved("tillpoint_jobs_done_total", job=BILLING) == 2  # 1 invoice issued + 1 paid
    assert runner.run_once().billing is None  # not again within the interval
    assert bill.days == [today.date(), today.date()]
    assert moved("tillpoint_jobs_runs_total", job=BILLING) == 2
    assert moved("tillpoint_jobs_failures_total", job=BILLING) == 1


@pytest.mark.parametrize("fails", [False, True], ids=["every job ran", "a job failed"])
def test_a_round_on_the_schedule_logs_each_business_not_billed_once(sessions, caplog, fails):
    problem = "business b1: no EUR rate for 2027-03-01"
    jobs = [broken("tidy-f")] if fails else []
    runner = JobRunner(sessions, jobs, Billing(RunSummary(problems=[problem])), 3600)
    caplog.set_level(logging.INFO, logger="tillpoint")
    with pytest.raises(JobsFailed) if fails else contextlib.nullcontext():
        runner.round()
    said = [r.getMessage() for r in caplog.records if r.name == "tillpoint.jobs"]
    assert said.count(f"billing: not billed: {problem}") == 1  # `--once` prints it instead


def stopping(runner: Callable[[], JobRunner]) -> DueJob:
    """A job that stops the runner after its round, so `run` returns."""

    def run(session, now) -> int:
        runner().stop()
        return 0

    return DueJob("stop-after-this-round", run)


@pytest.mark.parametrize("fails", [False, True], ids=["every job ran", "a job failed"])
def test_a_round_touches_the_heartbeat_only_when_every_job_ran(sessions, tmp_path, fails):
    beat, moved = tmp_path / "heartbeat", Moved()
    jobs = [broken("tidy-d") if fails else job("tidy-e")]
    runner = JobRunner(sessions, [*jobs, stopping(lambda: runner)], None, 3600)
    runner.run(0, heartbeat=beat)
    assert beat.exists() is not fails
    assert moved("tillpoint_jobs_rounds_total") == (not fails)
    assert moved("tillpoint_jobs_round_failures_total") == fails


def test_payments_owed_back_are_read_each_round(sessions):
    now = datetime.now(UTC)
    with sessions() as session:
        session.add(
            PaymentRefund(
                payment_reference="sim_pay_1",
                amount_minor=1000,
                currency="GBP",
                refund_key="refund-owed-1",
                reason="a test",
                created_at=now - timedelta(hours=2),
            )
        )
        session.commit()
    runner = JobRunner(sessions, [], None, 3600, clock=lambda: now)
    runner.run_once()
    assert value("tillpoint_jobs_refunds_owed") == 1
    assert value("tillpoint_jobs_refunds_owed_oldest_seconds") == 7200
    with sessions() as session:
        session.query(PaymentRefund).update({"refunded_at": now})
        session.commit()
    runner.run_once()
    assert value("tillpoint_jobs_refunds_owed") == 0
    assert value("tillpoint_jobs_refunds_owed_oldest_seconds") == 0


def test_the_runner_runs_the_real_due_jobs(client, sessions, shop):
    """A deal past its end is ended by the runner's `deals` job, counted as done."""
    assert create_deal(shop).status_code == 201
    later = datetime.now(UTC) + timedelta(days=8)
    jobs = due_jobs(client.app.state.keyring, Channels(email=False, push=False), SimulatedGateway())
    assert [j.name for j in jobs] == [
        "cards",
        "holds",
        "deals",
        "contests",
        "liabilities",
        "refunds",
    ]
    moved = Moved()
    done = JobRunner(sessions, jobs, None, 3600, clock=lambda: later).run_once()
    assert done.done["deals"] == 1
    assert moved("tillpoint_jobs_done_total", job="deals") == 1
    again = JobRunner(sessions, jobs, None, 3600, clock=lambda: later).run_once()
    assert again.done == dict.fromkeys(done.done, 0)  # nothing more is due
