"""`tillpoint server`'s options for the database (`--data-dir`, `--database-url`): they count
given before the action (where `tillpoint server --help` lists them) or after it, for every
action; and a database that is not there, or does not open, is one sentence saying where and
what to do, not a traceback, with nothing made in its place."""

from __future__ import annotations

import argparse
import io
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from sync.cli import build_parser, main
from tests.server.api import PASSWORD

EMAIL = "ops@example.com"

# Every action of `tillpoint server`, with the arguments it needs.
ACTIONS = {
    "migrate": ["migrate"],
    "rotate-keys": ["rotate-keys"],
    "run-jobs": ["run-jobs"],
    "billing-run": ["billing-run"],
    "worker": ["worker", "--once"],
    "jobs": ["jobs", "--once"],
    "create-admin": ["create-admin", EMAIL, "--password-stdin"],
    "rates": ["rates", "import", "rates.csv"],
}
# The actions that open the database.
ON_THE_DATABASE = ["run-jobs", "billing-run", "worker", "jobs", "create-admin", "rates"]


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    [commands] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(commands.choices)


def test_every_action_is_tried_here():
    server = _subcommands(build_parser())["server"]
    assert set(_subcommands(server)) == set(ACTIONS)


@pytest.mark.parametrize("before", [True, False], ids=["before", "after"])
@pytest.mark.parametrize("action", ACTIONS)
def test_the_database_options_count_before_the_action_and_after_it(action, before):
    options = ["--data-dir", "/srv/tillpoint", "--database-url", "sqlite:///other.db"]
    argv = (
        ["server", *options, *ACTIONS[action]] if before else ["server", *ACTIONS[action], *options]
    )
    args = build_parser().parse_args(argv)
    assert (args.data_dir, args.database_url) == (Path("/srv/tillpoint"), "sqlite:///other.db")


def tillpoint(*argv: str) -> int:
    """`tillpoint ARGV...` in this process, as if in one of its own: what it exports to the
    environment (for uvicorn's workers) is gone after it."""
    environment = dict(os.environ)
    try:
        return main(list(argv))
    finally:
        os.environ.clear()
        os.environ.update(environment)


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An operator's shell in a folder of no server (no `var/`), with neither the database
    nor the data folder set in the environment. What the command exports is put back."""
    for name in ("DATABASE_URL", "TILLPOINT_DATA_DIR", "TILLPOINT_KEYS_DIR"):
        monkeypatch.setenv(name, "")  # remembered, so put back (or removed) afterwards
        monkeypatch.delenv(name)
    monkeypatch.setenv("TILLPOINT_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("TILLPOINT_ARGON2_MEMORY_KIB", "64")
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    monkeypatch.chdir(folder)
    (folder / "rates.csv").write_text("EUR,1.1642,2026-11-01\n")
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    return folder


@pytest.fixture
def data(tmp_path: Path, elsewhere, capsys) -> Path:
    """A server's data folder, migrated."""
    folder = tmp_path / "data"
    assert tillpoint("server", "migrate", "--data-dir", str(folder)) == 0, capsys.readouterr()
    capsys.readouterr()
    return folder


def admins_in(folder: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(folder / "tillpoint.db") as connection:
        return connection.execute("SELECT email, role FROM users").fetchall()


@pytest.mark.parametrize("before", [True, False], ids=["before", "after"])
def test_create_admin_makes_the_admin_in_the_data_dir_given(data, elsewhere, before, capsys):
    action = ACTIONS["create-admin"]
    options = ["--data-dir", str(data)]
    argv = ["server", *options, *action] if before else ["server", *action, *options]
    assert tillpoint(*argv) == 0, capsys.readouterr()
    assert f"{EMAIL} created" in capsys.readouterr().out
    assert admins_in(data) == [(EMAIL, "ADMIN")]
    assert list(elsewhere.iterdir()) == [elsewhere / "rates.csv"]  # no var/ made here


@pytest.mark.parametrize("action", ACTIONS)
def test_every_action_works_on_the_data_dir_given_before_it(data, elsewhere, action, capsys):
    assert tillpoint("server", "--data-dir", str(data), *ACTIONS[action]) == 0, capsys.readouterr()
    assert list(elsewhere.iterdir()) == [elsewhere / "rates.csv"]  # no var/ made here
    if action in ("rotate-keys", "run-jobs", "jobs"):  # they sign with the data folder's keys
        assert (data / "keys" / "keyring.json").is_file()


def test_the_database_url_before_the_action_is_the_one_used(tmp_path, elsewhere, capsys):
    url = f"sqlite:///{tmp_path / 'other.db'}"
    assert tillpoint("server", "--database-url", url, "migrate") == 0
    assert tillpoint("server", "--database-url", url, *ACTIONS["create-admin"]) == 0, (
        capsys.readouterr()
    )
    with sqlite3.connect(tmp_path / "other.db") as connection:
        assert connection.execute("SELECT email FROM users").fetchall() == [(EMAIL,)]


# -- a database that is not there or does not open ---------------------------------------


def refusal(capsys: pytest.CaptureFixture[str]) -> str:
    """What the command said: one line on standard error, nothing on standard output."""
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("tillpoint: "), err
    assert err.count("\n") == 1, err
    return err


def test_the_audits_command_on_a_folder_that_is_not_there_says_so_in_one_line(tmp_path):
    missing = tmp_path / "data"
    command = [sys.executable, "-m", "sync.cli", "server", "--data-dir", str(missing)]
    env = {"PATH": "/usr/bin:/bin", "TILLPOINT_ARGON2_TIME_COST": "1"}
    done = subprocess.run(
        [*command, "create-admin", EMAIL, "--password-stdin"],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    assert done.stderr == (
        f"tillpoint: there is no database at {missing / 'tillpoint.db'}: pass --data-dir with "
        "the server's data folder, or set DATABASE_URL, or make one with "
        "`tillpoint server migrate`\n"
    )
    assert not missing.exists()  # nothing made in the wrong place


@pytest.mark.parametrize("action", ON_THE_DATABASE)
def test_every_action_on_a_data_dir_that_is_not_there_says_so(tmp_path, elsewhere, action, capsys):
    missing = tmp_path / "data"
    assert tillpoint("server", "--data-dir", str(missing), *ACTIONS[action]) == 2
    said = refusal(capsys)
    assert f"there is no database at {missing / 'tillpoint.db'}: pass --data-dir" in said
    assert "DATABASE_URL" in said
    assert not missing.exists()


def test_a_data_dir_without_a_database_file_is_left_without_one(tmp_path, elsewhere, capsys):
    assert tillpoint("server", "--data-dir", str(tmp_path), *ACTIONS["create-admin"]) == 2
    assert f"there is no database at {tmp_path / 'tillpoint.db'}" in refusal(capsys)
    assert not (tmp_path / "tillpoint.db").exists()  # SQLite made no empty file


def test_a_database_file_without_tables_says_to_migrate(tmp_path, elsewhere, capsys):
    (tmp_path / "tillpoint.db").touch()
    assert tillpoint("server", "--data-dir", str(tmp_path), *ACTIONS["run-jobs"]) == 2
    assert refusal(capsys) == (
        f"tillpoint: the database at {tmp_path / 'tillpoint.db'} has no tables: pass "
        "--data-dir with the server's data folder, or set DATABASE_URL, or make them with "
        "`tillpoint server migrate`\n"
    )


def test_a_database_file_that_does_not_open_says_why(tmp_path, elsewhere, capsys):
    (tmp_path / "tillpoint.db").mkdir()  # there, but no file SQLite can open
    assert tillpoint("server", "--data-dir", str(tmp_path), *ACTIONS["billing-run"]) == 2
    assert refusal(capsys) == (
        f"tillpoint: cannot open the database at {tmp_path / 'tillpoint.db'} (unable to open "
        "database file): pass --data-dir with the server's data folder, or set DATABASE_URL\n"
    )


def test_an_unreachable_database_server_says_to_check_the_url(elsewhere, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody:secret@127.0.0.1:1/none")
    assert tillpoint("server", *ACTIONS["create-admin"]) == 2
    said = refusal(capsys)
    assert said.startswith("tillpoint: cannot open the database at ")
    assert "postgresql+psycopg://nobody:***@127.0.0.1:1/none (" in said
    assert "secret" not in said
    assert said.endswith("): check DATABASE_URL and that the database server is running\n")


@pytest.mark.postgres
def test_a_database_server_without_the_tables_says_to_migrate(postgres_url, elsewhere, capsys):
    assert tillpoint("server", "--database-url", postgres_url, *ACTIONS["worker"]) == 2
    said = refusal(capsys)
    assert said.endswith(
        " has no tables: check DATABASE_URL, or make them with `tillpoint server migrate`\n"
    )
