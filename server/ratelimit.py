"""A sliding-window rate limit per key (pairing by address, redemption by user and device).

The windows live in the app's `SharedState`: in Redis when `TILLPOINT_REDIS_URL` is set, so
every worker and host counts together; else in this process (one worker).
"""

from __future__ import annotations

import math

from .problems import Problem
from .sharedstate import MemoryState, SharedState

__all__ = ["RateLimiter", "seconds", "too_many", "whole_seconds"]


def whole_seconds(retry_seconds: float) -> int:
    """A wait as the whole seconds to ask for (`Retry-After`): rounded up, at least 1."""
    return max(1, math.ceil(retry_seconds))


def seconds(count: int) -> str:
    """`1 second`, `2 seconds`."""
    return "1 second" if count == 1 else f"{count} seconds"


def too_many(what: str, retry_seconds: float, detail: str = "") -> Problem:
    retry = whole_seconds(retry_seconds)
    return Problem(
        429,
        "rate-limited",
        "Too many attempts",
        f"Too many {what} attempts: wait {seconds(retry)}, then try again.{detail}",
        headers={"Retry-After": str(retry)},
    )


class RateLimiter:
    def __init__(
        self, limit: int, window_seconds: float, state: SharedState | None = None, name: str = ""
    ) -> None:
        self.limit = limit
        self.window = window_seconds
        self._state = state if state is not None else MemoryState()
        self._name = name

    def hit(self, key: str, what: str) -> None:
        """Count one attempt; raise 429 with Retry-After when over the limit."""
        retry = self._state.hit(f"rate:{self._name}:{key}", self.limit, self.window)
        if retry is not None:
            raise too_many(what, retry)

    def hit_unless(self, refusing: tuple[str, ...], key: str, what: str) -> bool:
        """`hit`, unless a key of `refusing` holds a value (a deny-list entry): then True,
        and nothing counted. One round trip to the shared state."""
        name = f"rate:{self._name}:{key}"
        refused, retry = self._state.hit_unless(refusing, name, self.limit, self.window)
        if retry is not None:
            raise too_many(what, retry)
        return refused
