"""A sliding-window rate limit per key (login by email and by address, redemption by user).

Kept in process memory: with several workers each enforces its own window, which bounds
the total at workers × limit. (A shared Redis window is the production upgrade.)
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from .problems import Problem

__all__ = ["RateLimiter"]


class RateLimiter:
    def __init__(
        self, limit: int, window_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window_seconds
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, what: str) -> None:
        """Count one attempt; raise 429 with Retry-After when over the limit."""
        now = self._clock()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                retry = max(1, int(hits[0] + self.window - now) + 1)
                raise Problem(
                    429,
                    "rate-limited",
                    "Too many attempts",
                    f"Too many {what} attempts: wait {retry} seconds, then try again.",
                    headers={"Retry-After": str(retry)},
                )
            hits.append(now)
            if len(self._hits) > 100_000:  # forget idle keys rather than grow without bound
                self._hits = {
                    k: v for k, v in self._hits.items() if v and v[-1] > now - self.window
                }
