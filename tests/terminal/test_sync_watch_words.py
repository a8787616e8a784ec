"""`tillpoint sync --watch` tells a problem once, not every round, and again only once it
changes or after a sync got through."""

from __future__ import annotations

import pytest

from sync.cli import main
from terminal import cli
from tests.terminal.test_roles_app import paired_till

GATEWAY = "the server at http://till.test could not be reached (the gateway in front of it "
GATEWAY_502 = GATEWAY + "answered 502 Bad Gateway)"
GATEWAY_504 = GATEWAY + "answered 504 Gateway Timeout)"


class Deaf:
    """No stream to listen to: the rounds come from the interval alone."""

    def __init__(self, *_: object) -> None: ...

    def run(self) -> None: ...

    def stop(self) -> None: ...


@pytest.fixture
def data(tmp_path, key):
    paired_till(tmp_path / "till.db", key).close()
    return tmp_path / "till.db"


def test_watch_says_a_problem_once_and_again_when_it_changes(data, monkeypatch, capsys):
    rounds = iter([GATEWAY_502, GATEWAY_502, GATEWAY_502, None, GATEWAY_502, GATEWAY_504, "stop"])

    def sync_once(*_: object) -> int:
        why = next(rounds)
        if why == "stop":
            raise KeyboardInterrupt
        if why is None:
            print("pushed 0: 0 applied, 0 duplicates, 0 with incidents, 0 rejected")
            return 0
        raise cli._NotSynced(f"{why}. Nothing was lost: the outbox is empty.", 3, why)

    monkeypatch.setattr(cli, "_sync_and_report", sync_once)
    monkeypatch.setattr(cli, "Listening", Deaf)
    assert main(["sync", "--watch", "--interval", "0", "--data", str(data)]) == 0
    err = capsys.readouterr().err.splitlines()
    told = [line for line in err if "could not be reached" in line]
    assert [line.split(" (the gateway")[0] for line in told] == [
        "tillpoint: the server at http://till.test could not be reached"
    ] * 3
    assert ["502" in told[0], "502" in told[1], "504" in told[2]] == [True, True, True]
    assert told[0].endswith("Still trying, every 0 s; nothing more is said until that changes.")
