"""How the owner's list of tills tells online from offline (seen by the server lately), and
what a sync asked for while another runs says."""

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sync import engine
from sync.engine import PushSummary
from sync.tokens import IssuerKey
from terminal.core.owner import Device
from terminal.core.session import TerminalSession
from tests.terminal.test_roles_app import Counter, paired_till, until

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("seen", "revoked", "online"),
    [
        (NOW - timedelta(seconds=30), False, True),
        (NOW - timedelta(minutes=3), False, True),
        (NOW - timedelta(minutes=3, seconds=1), False, False),  # switched off, or offline
        (None, False, False),  # never synced since pairing
        (NOW, True, False),  # revoked: whatever it tries, it cannot sync
    ],
)
def test_a_till_is_online_when_seen_in_the_last_three_minutes(seen, revoked, online):
    device = Device("Till 2", NOW - timedelta(days=1), seen, revoked, "dev1", None)
    assert device.online(NOW) is online


# -- a sync asked for while another runs ----------------------------------------------------


class HeldSync:
    """`sync_once` as the session calls it, held at the next call until `release()`: a
    background sync still running when someone asks for another."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.real = engine.sync_once
        self.calls = 0
        self.hold = threading.Event()
        self.holding = threading.Event()
        self.released = threading.Event()
        monkeypatch.setattr("terminal.core.session.sync_once", self)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        if self.hold.is_set():
            self.hold.clear()
            self.holding.set()
            self.released.wait(20)
        return self.real(*args, **kwargs)

    def release(self) -> None:
        self.released.set()


def test_a_sync_asked_for_while_another_runs_waits_and_says_its_own_result(tmp_path, monkeypatch):
    paired_till(tmp_path / "till.db", IssuerKey.generate()).close()
    session = TerminalSession(tmp_path / "till.db", timeout=0.5)
    held = HeldSync(monkeypatch)
    held.hold.set()

    def background() -> None:
        try:
            session.sync()
        finally:
            session.release()

    answers: list[tuple[object, str | None]] = []

    def asked() -> None:
        try:
            answers.append((session.sync(), session.status().said))
        finally:
            session.release()

    running = threading.Thread(target=background)
    running.start()
    assert held.holding.wait(10)
    waiting = [threading.Thread(target=asked) for _ in range(3)]  # F5, and the stream's
    for thread in waiting:
        thread.start()
    waiting[0].join(0.3)
    assert all(thread.is_alive() for thread in waiting)  # they wait, rather than promise
    held.release()
    running.join(10)
    for thread in waiting:
        thread.join(10)
    assert answers == [(None, "Could not reach the server: working offline")] * 3
    assert held.calls == 2  # the running one, then one more that those waiting share
    session.close()


def test_those_waiting_together_share_one_sync_and_what_moved_is_told_once(tmp_path, monkeypatch):
    paired_till(tmp_path / "till.db", IssuerKey.generate()).close()
    session = TerminalSession(tmp_path / "till.db", timeout=0.5)
    held = HeldSync(monkeypatch)
    held.real = lambda *args, **kwargs: PushSummary(pulled=1, pushed=2, cursor=7)
    held.hold.set()
    answers: list[tuple[PushSummary | None, str | None]] = []

    def sync() -> None:
        try:
            answers.append((session.sync(), session.status().said))
        finally:
            session.release()

    threads = [threading.Thread(target=sync) for _ in range(4)]
    threads[0].start()
    assert held.holding.wait(10)
    for thread in threads[1:]:
        thread.start()
    threads[1].join(0.3)
    held.release()
    for thread in threads:
        thread.join(10)
    assert held.calls == 2
    said = {words for _, words in answers}
    assert said == {"Synced: 2 sent, 1 change received"}
    moved = [summary.pushed for summary, _ in answers if summary is not None]
    assert sorted(moved) == [0, 0, 2, 2]  # the running one's, the shared one's; two joined


@pytest.mark.anyio
async def test_f5_while_a_background_sync_runs_says_how_it_went(tmp_path, monkeypatch):
    counter = Counter(tmp_path, IssuerKey.generate(), staff=())
    app = counter.app
    held = HeldSync(monkeypatch)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.last_sync_ok is False, "the first sync to fail")
            held.hold.set()
            app.action_sync_now()  # the timer's, or the stream's
            await until(pilot, held.holding.is_set, "the background sync")
            before = len(counter.said)
            await pilot.press("f5")
            await pilot.pause(0.2)
            held.release()
            offline = "Could not reach the server: working offline"
            await until(pilot, lambda: offline in counter.said[before:], "F5's result")
            assert not any("its result follows" in said for said in counter.said)
    finally:
        held.release()
        counter.close()


@pytest.fixture
def anyio_backend():
    return "asyncio"  # Textual runs on asyncio
