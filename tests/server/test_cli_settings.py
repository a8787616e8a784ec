"""A TILLPOINT_* setting that cannot be used stops a `tillpoint` command with exit code 2 and
one line naming the variable as the operator set it, and what to set instead: not a
traceback and "a fault in Tillpoint" (exit 70). A secret's value is never in it. The server's
workers say it the same way (server/asgi.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from server import asgi
from server.settings import Settings, get_settings, load_settings, unusable_settings
from sync.cli import main
from tests.e2e.conftest import tillpoint_run


@pytest.fixture
def shell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An operator's shell in a folder of its own, with a SQLite database there; what the
    command exports to the environment is put back after it."""
    monkeypatch.chdir(tmp_path)
    for name, value in dict(os.environ).items():  # remembered, so put back afterwards
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'server.db'}")
    monkeypatch.setenv("TILLPOINT_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def refused(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """`tillpoint ARGV...` must stop with exit 2 and one line, no traceback: that line."""
    assert main(list(argv)) == 2
    said = capsys.readouterr()
    assert "Traceback" not in said.err
    [line] = said.err.splitlines()
    assert line.startswith("tillpoint: ")
    return line.removeprefix("tillpoint: ")


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        (
            "TILLPOINT_WEBHOOKS_INTERVAL_SECONDS",
            "abc",
            "TILLPOINT_WEBHOOKS_INTERVAL_SECONDS is 'abc': set a number of 0 or more, or unset "
            "it for the default (5)",
        ),
        (
            "TILLPOINT_SMTP_PORT",
            "-5",
            "TILLPOINT_SMTP_PORT is '-5': set a whole number from 1 to 65535, or unset it for "
            "the default (25)",
        ),
        (
            "TILLPOINT_WORKER_METRICS_PORT",
            "70000",
            "TILLPOINT_WORKER_METRICS_PORT is '70000': set a whole number from 1 to 65535, or "
            "leave it empty for none",
        ),
        (
            "tillpoint_sandbox",  # names are not case-sensitive: said as the operator wrote it
            "maybe",
            "tillpoint_sandbox is 'maybe': set true or false, or unset it for the default (false)",
        ),
        (
            "TILLPOINT_WEBHOOKS_RETRY_SCHEDULE_SECONDS",
            "5, 300",  # not JSON: refused before it is validated
            "TILLPOINT_WEBHOOKS_RETRY_SCHEDULE_SECONDS is '5, 300': set a JSON list of numbers, "
            "such as [5, 300], or unset it for the default",
        ),
        (
            "TILLPOINT_BILLING_CURRENCY",
            "XYZ",
            "TILLPOINT_BILLING_CURRENCY: unknown currency 'XYZ': use an ISO 4217 code such as "
            "GBP, EUR or JPY",
        ),
    ],
)
def test_a_setting_that_cannot_be_used_is_one_line_naming_it(
    shell, monkeypatch, capsys, variable, value, said
):
    monkeypatch.setenv(variable, value)
    assert refused(capsys, "server", "migrate") == said
    assert not (shell / "server.db").exists()  # nothing was done


def test_every_setting_that_cannot_be_used_is_named_in_the_one_line(shell, monkeypatch, capsys):
    monkeypatch.setenv("TILLPOINT_SMTP_PORT", "0")
    monkeypatch.setenv("TILLPOINT_JOBS_METRICS_PORT", "port")
    said = refused(capsys, "server", "jobs", "--once").split("; ")
    assert sorted(sentence.split(":")[0] for sentence in said) == [
        "TILLPOINT_JOBS_METRICS_PORT is 'port'",
        "TILLPOINT_SMTP_PORT is '0'",
    ]


def test_the_real_command_stops_with_exit_2_and_one_line(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "TILLPOINT_SMTP_PORT": "-5"}
    done = tillpoint_run("server", "migrate", env=env)
    assert (done.returncode, done.stdout) == (
        2,
        "tillpoint: TILLPOINT_SMTP_PORT is '-5': set a whole number from 1 to 65535, or unset "
        "it for the default (25)\n",
    )


@pytest.mark.parametrize(
    "variable",
    ["TILLPOINT_METRICS_PORT", "TILLPOINT_WORKER_METRICS_PORT", "TILLPOINT_JOBS_METRICS_PORT"],
)
def test_an_empty_metrics_port_is_no_metrics_port(shell, monkeypatch, capsys, variable):
    monkeypatch.setenv(variable, "")
    settings = load_settings()
    assert (settings.metrics_port, settings.worker_metrics_port, settings.jobs_metrics_port) == (
        None,
        None,
        None,
    )
    assert main(["server", "migrate"]) == 0


def test_a_secret_that_cannot_be_used_is_named_without_its_value():
    with pytest.raises(ValidationError) as wrong:
        Settings(smtp_password=917_364, metrics_token=482_551, smtp_port=0)  # type: ignore[arg-type]
    said = unusable_settings(wrong.value)
    assert "TILLPOINT_SMTP_PASSWORD cannot be used (its value is not shown)" in said
    assert "TILLPOINT_METRICS_TOKEN cannot be used (its value is not shown)" in said
    assert "TILLPOINT_SMTP_PORT is '0'" in said
    assert "917364" not in said
    assert "482551" not in said


def test_a_setting_read_under_another_name_is_said_by_that_name(monkeypatch):
    monkeypatch.setenv("TILLPOINT_REDIS_URL", "")  # one of REDIS_URL and TILLPOINT_REDIS_URL
    monkeypatch.delenv("REDIS_URL", raising=False)
    with pytest.raises(ValidationError) as wrong:
        Settings(DATABASE_URL=1, REDIS_URL=2)  # type: ignore[call-arg]
    said = unusable_settings(wrong.value)
    assert said == (
        "DATABASE_URL is '1': set a value, or unset it for the default; "
        "REDIS_URL is '2': set a value, or unset it for the default"
    )  # the value that failed, not the empty TILLPOINT_REDIS_URL beside it


def test_a_server_worker_says_it_in_the_same_words(monkeypatch, tmp_path):
    report = tmp_path / "reason"
    monkeypatch.setenv(asgi.STARTUP_REPORT, str(report))
    monkeypatch.setenv("TILLPOINT_SMTP_PORT", "-5")
    get_settings.cache_clear()
    try:
        with pytest.raises(SystemExit):
            asgi.app_from_environment()
    finally:
        get_settings.cache_clear()
    assert report.read_text() == (
        "TILLPOINT_SMTP_PORT is '-5': set a whole number from 1 to 65535, or unset it for the "
        "default (25)\n"
    )
