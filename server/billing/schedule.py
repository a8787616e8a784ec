"""The billing run on a schedule inside the server: a daemon thread that runs it for today
at start and then every `billing_interval_seconds`. Several workers may each run it: the run
is idempotent and takes each business in turn under a row lock."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import date

from sqlalchemy.orm import Session

from ..payments.gateway import PaymentGateway
from .run import run_billing

__all__ = ["BillingSchedule"]

log = logging.getLogger("tillpoint.billing")


class BillingSchedule:
    def __init__(
        self,
        sessions: Callable[[], Session],
        gateway: PaymentGateway,
        today: Callable[[], date],
        interval: float,
    ) -> None:
        self.sessions, self.gateway, self.today, self.interval = sessions, gateway, today, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="billing", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                summary = run_billing(self.sessions, self.today(), self.gateway)
                for problem in summary.problems:
                    log.warning("billing: %s", problem)
            except Exception:  # a failed run must not stop the schedule; the next one retries
                log.exception("the billing run failed; it runs again at the next interval")
            self._stop.wait(self.interval)
