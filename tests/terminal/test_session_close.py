"""Closing the till's session while its listening thread is between two reads of the
database: the database is closed only once that thread is out (closed under it, a read
crashed the whole process, seen once in CI as a segmentation fault)."""

from __future__ import annotations

import threading
import time

from sync.engine import Listening
from sync.tokens import IssuerKey
from terminal.core.session import TerminalSession
from terminal.core.store import TerminalStore
from tests.terminal.test_roles_app import paired_till


def test_closing_waits_for_the_listening_thread_to_leave_the_database(tmp_path, monkeypatch):
    data = tmp_path / "till.db"
    paired_till(data, IssuerKey.generate()).close()
    order: list[str] = []
    inside = threading.Event()

    def run(listening: Listening) -> None:
        inside.set()
        listening._stopped.wait(10)
        time.sleep(0.3)  # caught between the stop and its next read of the cursor
        listening._cursor()
        order.append("read the cursor")

    closing = TerminalStore.close

    def close(store: TerminalStore) -> None:
        order.append("closed the database")
        closing(store)

    monkeypatch.setattr(Listening, "run", run)
    monkeypatch.setattr(TerminalStore, "close", close)
    session = TerminalSession(data)
    listener = threading.Thread(target=session.listen, args=(lambda: None,))
    listener.start()
    assert inside.wait(10)
    session.close()
    listener.join(10)
    assert order == ["read the cursor", "closed the database"]
