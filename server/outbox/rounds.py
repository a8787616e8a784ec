"""A worker's rounds on a daemon thread: the server runs its own workers this way, and
`tillpoint server worker` runs them as their own process."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .claims import Delivery
from .metrics import RoundMetrics

__all__ = ["DeliveryRound", "Round", "Rounds", "summary"]


@dataclass(frozen=True, slots=True)
class DeliveryRound:
    """What one round's sending came to."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0

    @classmethod
    def of(cls, outcomes: Iterable[Delivery | None]) -> DeliveryRound:
        """Counted from each claimed row's outcome (None: its lease had run out)."""
        done = list(outcomes)
        return cls(
            done.count(Delivery.SENT), done.count(Delivery.PENDING), done.count(Delivery.FAILED)
        )


@dataclass(frozen=True, slots=True)
class Round:
    """One round of a worker: events read from the log, then what was sent."""

    events: int
    delivery: DeliveryRound


def summary(name: str, done: object) -> str:
    """A round that did something, in one line for the log; "" for a quiet one (a worker
    that logged every idle round every two seconds would bury what matters)."""
    if not isinstance(done, Round):
        return ""
    sending = done.delivery
    if not (done.events or sending.sent or sending.retrying or sending.failed):
        return ""
    return (
        f"{name} round: {done.events} new events read; {sending.sent} sent, "
        f"{sending.retrying} to try again, {sending.failed} given up"
    )


class Rounds:
    """A worker whose `run_once` is called every `interval` seconds until `stop`; a failed
    round is logged and the next one tries again. Each round on the schedule moves
    `metrics` (by default the `tillpoint_worker_*` series of `name`)."""

    def __init__(self, name: str, log: logging.Logger, metrics: RoundMetrics | None = None) -> None:
        self.name, self.log = name, log
        self.metrics = metrics or RoundMetrics.of_worker(name)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> object:
        raise NotImplementedError

    def round(self) -> object:
        """One round on the schedule (a worker may do less than `run_once` on some)."""
        return self.run_once()

    def run(self, interval: float, heartbeat: Path | None = None) -> None:
        """Rounds until `stop`; `heartbeat` is touched after each round that finished (a
        health check watches its age)."""
        while not self._stop.is_set():
            started = time.perf_counter()
            try:
                said = summary(self.name, self.round())
                self.metrics.finished(time.perf_counter() - started)
                if said:
                    self.log.info(said)
                if heartbeat is not None:
                    heartbeat.touch()
            except Exception:
                self.metrics.failed()
                self.log.exception("a %s round failed; the next one tries again", self.name)
            self._stop.wait(interval)

    def start(self, interval: float, heartbeat: Path | None = None) -> None:
        self._thread = threading.Thread(
            target=self.run, args=(interval, heartbeat), name=self.name, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
