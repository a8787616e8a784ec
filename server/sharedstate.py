"""Short-lived state every worker must agree on: rate-limit windows, login throttles and the
access-token deny list.

`MemoryState` keeps it in this process (one worker, the embedded default); `RedisState`
keeps it in Redis, so every worker on every host counts and denies as one. `open_state`
picks by the settings; `tillpoint server` refuses `--workers` above 1 without Redis.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from .ids import counted_id

if TYPE_CHECKING:
    from redis import Redis

    from .settings import Settings

__all__ = ["MemoryState", "RedisState", "SharedState", "StateUnavailableError", "open_state"]


class SharedState(Protocol):
    """Keys are plain strings; every value expires, so nothing grows without bound."""

    def hit(self, key: str, limit: int, window: float) -> float | None:
        """Count one event in a sliding window of `window` seconds, unless `limit` are
        already in it: then count nothing and return the seconds until one leaves."""
        ...

    def hit_unless(
        self, refusing: tuple[str, ...], key: str, limit: int, window: float
    ) -> tuple[bool, float | None]:
        """`hit`, unless any of `refusing` holds a value: then (True, None), nothing
        counted; else (False, what `hit` answers). One round trip to Redis."""
        ...

    def incr(self, key: str, ttl: float) -> int:
        """Add one to a counter that expires `ttl` seconds after its last change."""
        ...

    def put(self, key: str, value: str, ttl: float) -> None: ...

    def get(self, key: str) -> str | None: ...

    def exists(self, *keys: str) -> bool:
        """Whether any of the keys holds a value (one round trip to Redis)."""
        ...

    def delete(self, *keys: str) -> None: ...


class MemoryState:
    """In this process only: right for one worker, wrong for several (each would count and
    deny alone)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._windows: dict[str, deque[float]] = {}
        self._values: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, limit: int, window: float) -> float | None:
        now = self._clock()
        with self._lock:
            hits = self._windows.setdefault(key, deque())
            while hits and hits[0] <= now - window:
                hits.popleft()
            if len(hits) >= limit:
                return hits[0] + window - now
            hits.append(now)
            if len(self._windows) > 100_000:  # forget idle keys rather than grow
                self._windows = {k: v for k, v in self._windows.items() if v and v[-1] > now - 3600}
            return None

    def hit_unless(
        self, refusing: tuple[str, ...], key: str, limit: int, window: float
    ) -> tuple[bool, float | None]:
        if self.exists(*refusing):
            return True, None
        return False, self.hit(key, limit, window)

    def incr(self, key: str, ttl: float) -> int:
        with self._lock:
            count = int(self._live(key) or 0) + 1
            self._values[key] = (str(count), self._clock() + ttl)
            return count

    def put(self, key: str, value: str, ttl: float) -> None:
        with self._lock:
            self._values[key] = (value, self._clock() + ttl)
            if len(self._values) > 100_000:
                now = self._clock()
                self._values = {k: v for k, v in self._values.items() if v[1] > now}

    def get(self, key: str) -> str | None:
        with self._lock:
            return self._live(key)

    def exists(self, *keys: str) -> bool:
        with self._lock:
            return any(self._live(key) is not None for key in keys)

    def delete(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._values.pop(key, None)

    def _live(self, key: str) -> str | None:
        found = self._values.get(key)
        if found is None:
            return None
        if found[1] <= self._clock():
            del self._values[key]
            return None
        return found[0]


# The check and the count in one step, so two workers cannot both take the last place.
# KEYS[1] is the window; any further key that exists refuses the attempt uncounted.
_HIT = """
for i = 2, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then return 'refused' end
end
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return tostring(tonumber(oldest[2]) + window - now)
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000))
return false
"""


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


class RedisState:
    """In Redis, shared by every worker and host that uses the same URL and prefix. Windows
    use the hosts' wall clocks, which NTP keeps within far less than a window."""

    def __init__(self, client: Redis, prefix: str) -> None:
        self._redis = client
        self._prefix = prefix
        self._hit = client.register_script(_HIT)

    @classmethod
    def from_url(cls, url: str, prefix: str) -> RedisState:
        from redis import Redis

        return cls(Redis.from_url(url, decode_responses=True, socket_timeout=5), prefix)

    def hit(self, key: str, limit: int, window: float) -> float | None:
        return self.hit_unless((), key, limit, window)[1]

    def hit_unless(
        self, refusing: tuple[str, ...], key: str, limit: int, window: float
    ) -> tuple[bool, float | None]:
        keys = [self._prefix + name for name in (key, *refusing)]
        retry = self._hit(keys=keys, args=[time.time(), window, limit, counted_id()])
        if retry == "refused":
            return True, None
        return False, None if retry is None else float(retry)

    def incr(self, key: str, ttl: float) -> int:
        pipe = self._redis.pipeline()
        pipe.incr(self._prefix + key)
        pipe.pexpire(self._prefix + key, _ms(ttl))
        count, _ = pipe.execute()
        return int(count)

    def put(self, key: str, value: str, ttl: float) -> None:
        self._redis.set(self._prefix + key, value, px=_ms(ttl))

    def get(self, key: str) -> str | None:
        value = self._redis.get(self._prefix + key)
        return None if value is None else str(value)

    def exists(self, *keys: str) -> bool:
        return bool(keys) and int(self._redis.exists(*(self._prefix + key for key in keys))) > 0

    def delete(self, *keys: str) -> None:
        if keys:
            self._redis.delete(*(self._prefix + key for key in keys))

    def ping(self) -> None:
        self._redis.ping()


class StateUnavailableError(RuntimeError):
    """The Redis the settings name does not answer."""


def open_state(settings: Settings) -> SharedState:
    """Redis when the settings name one (checked now, so a wrong URL stops the start rather
    than every sign-in), else this process's memory."""
    if not settings.redis_url:
        return MemoryState()
    from redis.exceptions import RedisError

    state = RedisState.from_url(settings.redis_url, settings.redis_prefix)
    try:
        state.ping()
    except RedisError as exc:
        raise StateUnavailableError(
            f"Redis at {settings.redis_url} does not answer ({exc}): start it, or fix "
            "TILLPOINT_REDIS_URL"
        ) from None
    return state
