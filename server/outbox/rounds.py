"""A worker's rounds on a daemon thread: the server runs its own workers this way, and
`tillpoint server worker` runs them as their own process."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

__all__ = ["Rounds"]


class Rounds:
    """Calls `round` every `interval` seconds until stopped; a failed round is logged and
    the next one tries again."""

    def __init__(self, name: str, round: Callable[[], object], log: logging.Logger) -> None:
        self.name, self.round, self.log = name, round, log
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run(self, interval: float) -> None:
        while not self._stop.is_set():
            try:
                self.round()
            except Exception:
                self.log.exception("a %s round failed; the next one tries again", self.name)
            self._stop.wait(interval)

    def start(self, interval: float) -> None:
        self._thread = threading.Thread(
            target=self.run, args=(interval,), name=self.name, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
