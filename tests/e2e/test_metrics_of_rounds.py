"""`tillpoint server worker` and `tillpoint server jobs` at 3 a.m.: each serves /metrics on a
port of its own, and a scrape of the real process shows its rounds, what it sent or did, and
when it last succeeded. A metrics port in use stops either at once, in one sentence."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from aiosmtpd.controller import Controller
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import (
    FAST_HASHING,
    free_port,
    migrated_server,
    new_business,
    new_deal,
    printed,
    signed_in,
    tillpoint,
    tillpoint_run,
)
from tests.server.mailbox import Sink

WAIT = 60  # seconds before a test gives up on a process doing what it should

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
DELIVERIES, ROUNDS = "tillpoint_worker_deliveries_total", "tillpoint_worker_rounds_total"
THREADS = ("notifications", "webhooks")  # the worker's two, each with its rounds


def scrape(port: int) -> Samples:
    answer = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    assert answer.status_code == 200
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def sample(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def scraped_until(
    process: subprocess.Popen[str], port: int, done: Callable[[Samples], bool]
) -> Samples:
    """Scrape the process's metrics until `done` says they show what the test waits for."""
    deadline = time.monotonic() + WAIT
    while True:
        assert process.poll() is None, f"it stopped:\n{printed(process)}"
        try:
            samples = scrape(port)
        except httpx.TransportError:
            samples = {}  # not listening yet
        if samples and done(samples):
            return samples
        assert time.monotonic() < deadline, f"not in time; it said:\n{printed(process)}"
        time.sleep(0.2)


@contextmanager
def started(*args: str, env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    """`tillpoint ARGS...` running; stopped as an orchestrator stops it (SIGTERM), which it
    must obey with exit 0."""
    process = tillpoint(*args, env=env)
    try:
        yield process
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, printed(process)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.log.close()  # type: ignore[attr-defined]


def settings_of(database_url: str, data: Path) -> dict[str, str]:
    return {"DATABASE_URL": database_url, "TILLPOINT_DATA_DIR": str(data), **FAST_HASHING}


def test_the_worker_scraped_shows_the_email_it_sent_and_its_last_good_round(database_url, tmp_path):
    sink = Sink()
    smtp = Controller(sink, hostname="127.0.0.1", port=free_port())
    smtp.start()
    env = {
        **settings_of(database_url, tmp_path / "data"),
        "TILLPOINT_SMTP_HOST": "127.0.0.1",
        "TILLPOINT_SMTP_PORT": str(smtp.port),
        "TILLPOINT_NOTIFICATIONS_INTERVAL_SECONDS": "0",  # only the worker below sends
        "TILLPOINT_WEBHOOKS_INTERVAL_SECONDS": "0",
    }
    port = free_port()
    try:
        with migrated_server(database_url, tmp_path / "data", env=env) as base:
            since = time.time()
            worker_env = {**env, "TILLPOINT_WORKER_METRICS_PORT": str(port)}  # the setting
            with started("server", "worker", "--interval", "0.2", env=worker_env) as worker:
                email = f"night-{uuid.uuid4().hex[:8]}@example.com"
                signed_in(base, "customer", email)  # is emailed a code to confirm the address

                def sent(samples: Samples) -> bool:
                    emails = sample(samples, DELIVERIES, kind="email", outcome="sent")
                    rounds = [sample(samples, ROUNDS, worker=w) for w in THREADS]
                    return emails >= 1 and min(rounds) >= 1

                samples = scraped_until(worker, port, sent)
    finally:
        smtp.stop()
    assert [m["Subject"] for m in sink.messages if m["X-Rcpt"] == email] == [
        "Confirm your email for Tillpoint"
    ]
    for thread in THREADS:
        assert sample(samples, "tillpoint_worker_round_failures_total", worker=thread) == 0
        last = sample(samples, "tillpoint_worker_last_success_timestamp_seconds", worker=thread)
        assert since <= last <= time.time()
    for outcome in ("retrying", "failed"):
        assert sample(samples, DELIVERIES, kind="email", outcome=outcome) == 0
    assert ("tillpoint_worker_backlog", frozenset({("kind", "email")})) in samples
    assert ("tillpoint_worker_backlog", frozenset({("kind", "webhook")})) in samples


def test_the_job_runner_scraped_shows_each_job_run_and_a_deal_it_ended(database_url, tmp_path):
    env = {
        **settings_of(database_url, tmp_path / "data"),
        "TILLPOINT_BILLING_INTERVAL_SECONDS": "0",  # only the runner below bills
    }
    port = free_port()
    beat = tmp_path / "jobs.heartbeat"
    with migrated_server(database_url, tmp_path / "data", env=env) as base:
        owner = signed_in(base, "vendor")
        business = new_business(base, owner, "Night Owl Café")
        # ends while the runner runs
        new_deal(base, owner, business["id"], "Last orders", ends_in=timedelta(seconds=2))
        since = time.time()
        command = ["server", "jobs", "--interval", "0.2", "--heartbeat", str(beat)]
        with started(*command, "--metrics-port", str(port), env=env) as runner:

            def deal_ended(samples: Samples) -> bool:
                # and a whole round ran: the first one bills, and may still be billing
                rounds = sample(samples, "tillpoint_jobs_rounds_total")
                return (
                    sample(samples, "tillpoint_jobs_done_total", job="deals") >= 1 and rounds >= 1
                )

            samples = scraped_until(runner, port, deal_ended)
    assert sample(samples, "tillpoint_jobs_done_total", job="deals") == 1
    for job in ("cards", "holds", "deals", "contests", "liabilities", "refunds", "billing"):
        assert sample(samples, "tillpoint_jobs_runs_total", job=job) >= 1, job
        assert sample(samples, "tillpoint_jobs_failures_total", job=job) == 0, job
        last = sample(samples, "tillpoint_jobs_last_success_timestamp_seconds", job=job)
        assert since <= last <= time.time(), job
    assert sample(samples, "tillpoint_jobs_runs_total", job="billing") == 1  # hourly
    assert (
        sample(samples, "tillpoint_jobs_done_total", job="billing") == 1
    )  # the café's first invoice
    assert sample(samples, "tillpoint_jobs_rounds_total") >= 1
    assert sample(samples, "tillpoint_jobs_refunds_owed") == 0
    assert beat.exists()


@pytest.mark.parametrize("command", ["worker", "jobs"])
def test_a_metrics_port_in_use_stops_it_in_one_sentence(command, tmp_path):
    env = settings_of(f"sqlite:///{tmp_path / 'server.db'}", tmp_path / "data")
    assert tillpoint_run("server", "migrate", env=env).returncode == 0
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = tillpoint_run("server", command, "--metrics-port", str(port), env=env)
    variable = f"TILLPOINT_{command.upper()}_METRICS_PORT"
    assert done.returncode == 2, done.stdout
    assert done.stdout == (
        f"tillpoint: cannot serve metrics on 127.0.0.1:{port} (Address already in use): "
        f"choose another --metrics-port (or {variable})\n"
    )


# What an API of several workers leaves in its PROMETHEUS_MULTIPROC_DIR: the rounds of the
# workers it runs itself (the embedded default), and of a job runner's metrics of the same name.
API_METRICS = """
from prometheus_client import Counter
Counter("tillpoint_worker_rounds", "", ["worker"]).labels("notifications").inc(1000)
Counter("tillpoint_jobs_rounds", "").inc(1000)
"""


@pytest.mark.parametrize(
    ("command", "rounds"),
    [
        ("worker", (ROUNDS, {"worker": "notifications"})),
        ("jobs", ("tillpoint_jobs_rounds_total", {})),
    ],
)
def test_a_metrics_folder_shared_with_the_api_is_left_aside(command, rounds, tmp_path):
    """The environment file of the API, with PROMETHEUS_MULTIPROC_DIR, used for the worker
    and the job runner too: each still serves its own metrics, not the API's added to them,
    and writes nothing into the API's folder, which the API would add to its own."""
    env = settings_of(f"sqlite:///{tmp_path / 'server.db'}", tmp_path / "data")
    assert tillpoint_run("server", "migrate", env=env).returncode == 0
    folder = tmp_path / "api-metrics"
    folder.mkdir()
    env["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    api = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    subprocess.run([sys.executable, "-c", API_METRICS], env=api, check=True)
    written = sorted(folder.iterdir())
    name, labels = rounds
    port = free_port()
    command_line = ["server", command, "--interval", "0.2", "--metrics-port", str(port)]
    with started(*command_line, env=env) as process:
        samples = scraped_until(process, port, lambda samples: sample(samples, name, **labels) >= 1)
    assert sample(samples, name, **labels) < 1000
    assert sorted(folder.iterdir()) == written
