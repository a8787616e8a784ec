"""`tillpoint server run-jobs`, `billing-run` and `jobs --once` on a real database: a payment
gateway that cannot be loaded is one line (exit 2) for each of them, before anything runs;
what they did is said in the same words (`server.jobs.describe`, `billing_words`); and a
business the billing run could not bill is said once, not once printed and once logged."""

from __future__ import annotations

import logging
import os

import pytest

from sync.cli import main
from tests.server.api import open_shop
from tests.server.conftest import url_of


@pytest.fixture
def on_the_database(engine, settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """The commands run on the test's database; what they export is put back after them."""
    for name, value in dict(os.environ).items():  # remembered, so put back afterwards
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DATABASE_URL", url_of(engine))
    monkeypatch.setenv("TILLPOINT_DATA_DIR", str(settings.data_dir))


@pytest.mark.parametrize("action", [["run-jobs"], ["billing-run"], ["jobs", "--once"]])
def test_a_payment_gateway_that_cannot_be_loaded_is_one_line(
    on_the_database, monkeypatch, capsys, action
):
    monkeypatch.setenv("TILLPOINT_PAYMENT_GATEWAY", "no_such_module:make")
    assert main(["server", *action]) == 2
    said = capsys.readouterr()
    assert (said.out, "Traceback" in said.err) == ("", False)
    assert said.err == (
        "tillpoint: payment gateway 'no_such_module:make' cannot be loaded: No module named "
        "'no_such_module'\n"
    )


def test_run_jobs_and_the_job_runner_say_what_they_did_in_the_same_words(on_the_database, capsys):
    assert main(["server", "run-jobs", "--at", "2027-03-01T09:00Z"]) == 0
    assert capsys.readouterr().out == (
        "at 2027-03-01 09:00 UTC: 0 cards expired, 0 holds released, 0 deals ended, "
        "0 contests finished, 0 businesses' gift-card liability folded, 0 payments given back\n"
    )
    assert main(["server", "jobs", "--once"]) == 0
    [jobs, billing] = capsys.readouterr().out.splitlines()
    assert jobs.endswith(
        " UTC: 0 cards expired, 0 holds released, 0 deals ended, 0 contests finished, "
        "0 businesses' gift-card liability folded, 0 payments given back"
    )
    assert billing.endswith(
        ": 0 businesses, 0 invoices issued, 0 payments collected, 0 failed (retries "
        "scheduled), 0 plan changes, 0 suspended"
    )


def test_a_business_not_billed_is_said_once(on_the_database, client, capsys, caplog):
    open_shop(client, currency="JPY")  # and no JPY exchange rate to bill it in
    caplog.set_level(logging.INFO)
    assert main(["server", "jobs", "--once"]) == 0
    said = capsys.readouterr()
    printed = (said.out + said.err).count("not billed")
    logged = sum("not billed" in record.getMessage() for record in caplog.records)
    assert (printed, logged) == (1, 0)
    assert "  not billed: business " in said.out
    assert "no JPY rate" in said.out
