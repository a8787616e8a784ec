"""What ends sessions and slows down password guessing, kept in the shared state (Redis
with several workers or hosts) so every worker sees it at once.

- `DenyList`: access tokens refused before their expiry — one by its id (`jti`, a logout),
  or every token of a session (`sid`, the refresh-token family: logout, a reused refresh
  token, a password change). Entries live as long as an access token can.
- `LoginThrottle`: wrong passwords counted per account, per address and per known device;
  past a few, each key waits 1, 2, 4… seconds (up to a cap) before its next try. A device
  that signed in to the account before (its device token) is throttled on its own key
  only, so someone who knows an email cannot lock its owner out.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ..sharedstate import SharedState
from .jwt_tokens import ACCESS_LIFETIME, AccessClaims

__all__ = ["DenyList", "LoginThrottle", "Throttled"]

# Held a little past the access lifetime, so a token is never outlived by its denial's end.
_DENY_MARGIN = timedelta(seconds=60)


class DenyList:
    def __init__(self, state: SharedState) -> None:
        self._state = state

    def deny_token(self, claims: AccessClaims) -> None:
        left = claims.expires - datetime.now(UTC) + _DENY_MARGIN
        if left.total_seconds() > 0:
            self._state.put(f"deny:jti:{claims.token_id}", "1", left.total_seconds())

    def end_sessions(self, *session_ids: str) -> None:
        ttl = (ACCESS_LIFETIME + _DENY_MARGIN).total_seconds()
        for session_id in session_ids:
            self._state.put(f"deny:sid:{session_id}", "1", ttl)

    def refuses(self, claims: AccessClaims) -> bool:
        return self._state.exists(*self.keys_of(claims))

    @staticmethod
    def keys_of(claims: AccessClaims) -> tuple[str, str]:
        """The entries that refuse `claims`: its token's, or its session's."""
        return f"deny:jti:{claims.token_id}", f"deny:sid:{claims.session_id}"


@dataclass(frozen=True)
class Throttled(Exception):
    """Sign-in must wait `retry_seconds` for `key`."""

    key: str
    retry_seconds: float


class LoginThrottle:
    def __init__(
        self,
        state: SharedState,
        free_failures: int,
        max_wait: float,
        first_wait: float = 1.0,
        memory: float = 24 * 3600,
    ) -> None:
        self._state = state
        self.free_failures = free_failures
        self.max_wait = max_wait
        self.first_wait = first_wait
        self.memory = memory  # failures are forgotten after a quiet day

    def check(self, *keys: str) -> None:
        """Raise `Throttled` when any key must still wait."""
        now = time.time()
        for key in keys:
            until = self._state.get(f"login:wait:{key}")
            if until is not None and float(until) > now:
                raise Throttled(key, float(until) - now)

    def failed(self, *keys: str) -> None:
        for key in keys:
            count = self._state.incr(f"login:failures:{key}", self.memory)
            beyond = count - self.free_failures
            if beyond > 0:
                wait = min(self.max_wait, self.first_wait * 2 ** min(beyond - 1, 30))
                self._state.put(f"login:wait:{key}", repr(time.time() + wait), math.ceil(wait))

    def succeeded(self, *keys: str) -> None:
        self._state.delete(
            *(f"login:failures:{k}" for k in keys), *(f"login:wait:{k}" for k in keys)
        )
