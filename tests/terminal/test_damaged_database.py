"""A damaged terminal database (truncated, or not a database at all) is named in one line with
its own exit code, never a traceback nor "declined" (audit ops #9); the file is left as it was,
since its outbox may hold redemptions not synced yet."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from sync.cli import main
from sync.tokens import IssuerKey, new_id
from terminal.app import make_app
from terminal.core.store import DamagedStoreError, TerminalStore
from tests.terminal.test_one_till_many_processes import TILLPOINT, cache, paired_till_file
from tests.terminal.test_till_offline import card_token

EXIT_DAMAGED = 6


def truncated(path: Path) -> Path:
    """A paired till with cards in it, cut short as a full disk or a bad copy leaves it."""
    paired_till_file(path, IssuerKey.generate())
    for _ in range(200):
        cache(path, 1000)
    os.truncate(path, 8192)
    return path


def garbage(path: Path) -> Path:
    path.write_bytes(os.urandom(50_000))
    return path


@pytest.fixture(params=[truncated, garbage], ids=["truncated", "garbage"])
def damaged(request, tmp_path) -> Path:
    path: Path = request.param(tmp_path / "till.db")
    return path


COMMANDS = {
    "sync": ["sync"],
    "redeem": ["redeem", "TP1:X", "--amount", "1"],
    "balance": ["balance", "TP1:X"],
    "void": ["void", "ref"],
    "pair": ["terminal", "pair", "K7Q2-M9XA", "--server", "http://127.0.0.1:9"],
    "terminal": ["terminal"],
    "pos-api": ["pos-api", "--port", "0"],
}


@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
def test_a_damaged_database_is_named_in_one_line(command, damaged, capsys):
    before = damaged.read_bytes()
    assert main([*command, "--data", str(damaged)]) == EXIT_DAMAGED
    out, err = capsys.readouterr()
    assert out == ""
    [line] = err.splitlines()
    assert line.startswith(f"tillpoint: the terminal database at {damaged} is damaged (")
    assert "restore it from a copy, or pair the till again" in line
    assert "SELECT count(*) FROM outbox" in line
    assert damaged.read_bytes() == before  # kept as it was, for what its outbox holds


@pytest.mark.parametrize("command", ["redeem", "balance", "void"])
def test_with_json_a_damaged_database_is_one_json_object(command, damaged, capsys):
    assert main([*COMMANDS[command], "--data", str(damaged), "--json"]) == EXIT_DAMAGED
    out, _ = capsys.readouterr()
    document = json.loads(out)
    assert document["error"] == "damaged"
    assert f"the terminal database at {damaged} is damaged" in document["message"]


def test_the_app_is_not_made_over_a_damaged_database(damaged):
    with pytest.raises(DamagedStoreError, match="is damaged"):
        make_app(damaged)


def test_a_store_over_a_damaged_file_says_so(damaged):
    with pytest.raises(DamagedStoreError) as raised:
        TerminalStore(damaged)
    assert raised.value.path == damaged


def test_the_real_cli_says_it_in_one_line_with_its_own_exit_code(tmp_path):
    data = truncated(tmp_path / "till.db")
    token = card_token(IssuerKey.generate(), new_id())
    done = subprocess.run(
        [str(TILLPOINT), "redeem", "-", "--amount", "0.01", "--json", "--data", str(data)],
        input=token,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == EXIT_DAMAGED
    assert json.loads(done.stdout)["error"] == "damaged"
    assert "Traceback" not in done.stderr
    synced = subprocess.run(
        [str(TILLPOINT), "sync", "--data", str(data)], capture_output=True, text=True, timeout=60
    )
    assert synced.returncode == EXIT_DAMAGED
    assert len(synced.stderr.splitlines()) == 1
    assert "is damaged" in synced.stderr


@pytest.mark.parametrize(
    ("command", "said"),
    [
        ("redeem", "6 the terminal database at --data is damaged"),
        ("sync", "6 when that database is damaged"),
    ],
)
def test_the_exit_code_is_in_the_help(command, said, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    assert said in " ".join(capsys.readouterr().out.split())
