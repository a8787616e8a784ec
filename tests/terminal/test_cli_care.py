"""CLI care: a terminal database that is not there is an error (only pairing makes one), and a
server URL without its scheme is named as such."""

from __future__ import annotations

import json

import pytest

from sync.cli import main
from sync.client import server_url_problem
from terminal.core.session import PairingFailedError, TerminalSession
from terminal.core.store import TerminalStore


@pytest.mark.parametrize(
    "args",
    [
        ["sync"],
        ["redeem", "TP1:X", "--amount", "1"],
        ["balance", "TP1:X"],
        ["void", "ref"],
        ["pos-api", "--port", "0"],
    ],
)
def test_a_data_file_that_is_not_there_is_an_error_and_is_not_made(args, tmp_path, capsys):
    missing = tmp_path / "nowhere" / "x.db"
    assert main([*args, "--data", str(missing)]) == 5
    assert f"there is no terminal database at {missing}" in capsys.readouterr().err
    assert not missing.parent.exists()


@pytest.mark.parametrize("command", [["redeem", "TP1:X", "--amount", "1"], ["balance", "TP1:X"]])
def test_json_errors_are_one_json_object(command, tmp_path, capsys):
    assert main([*command, "--data", str(tmp_path / "x.db"), "--json"]) == 5
    document = json.loads(capsys.readouterr().out)
    assert document["error"] == "not_ready"


@pytest.mark.parametrize("command", ["sync", "redeem", "balance", "void"])
def test_an_unpaired_terminal_is_not_ready(command, tmp_path, capsys):
    data = tmp_path / "t.db"
    TerminalStore(data).close()
    extra = {"sync": [], "redeem": ["TP1:X", "--amount", "1"], "void": ["r"]}
    assert main([command, *extra.get(command, ["TP1:X"]), "--data", str(data)]) == 5
    assert "is not paired yet" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("127.0.0.1:8000", "has no scheme: add http:// or https://"),
        ("localhost", "has no scheme: add http:// or https://"),
        ("ftp://example.com", "use http:// or https://"),
        ("http://", "names no host"),
        ("", "is empty"),
        ("http://127.0.0.1:8000", None),
        ("https://tillpoint.example/", None),
    ],
)
def test_server_url_problems_are_named(url, problem):
    found = server_url_problem(url)
    if problem is None:
        assert found is None
    else:
        assert found is not None
        assert problem in found


def test_pairing_with_a_url_without_scheme_says_so_and_writes_nothing(tmp_path, capsys):
    data = tmp_path / "new" / "t.db"
    with pytest.raises(SystemExit) as exit_:
        main(["terminal", "pair", "K7Q2-M9XA", "--server", "127.0.0.1:8000", "--data", str(data)])
    assert exit_.value.code == 2
    assert "has no scheme: add http:// or https://" in capsys.readouterr().err
    assert not data.exists()


def test_the_pairing_screen_hears_it_too(tmp_path):
    session = TerminalSession(tmp_path / "t.db")
    with pytest.raises(PairingFailedError, match="add http:// or https://"):
        session.pair("127.0.0.1:8000", "K7Q2-M9XA", "Till")
    session.close()
