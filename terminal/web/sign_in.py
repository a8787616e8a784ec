"""Who may use the terminal served to a browser: whoever types the access code, for a shift.

The code is made at each start and printed where the terminal was started (or given in
TILLPOINT_TERMINAL_ACCESS_CODE). A right code opens a session, kept by a cookie; wrong codes
are throttled for everyone at once — a till has one person at it, so a lock-out costs little,
while a guesser gets five tries a minute against 80 random bits.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections import deque
from collections.abc import Callable

__all__ = [
    "ACCESS_CODE_SETTING",
    "MIN_CODE_LENGTH",
    "AccessCodeError",
    "SignIn",
    "TooManyTriesError",
    "checked_access_code",
    "new_access_code",
]

ACCESS_CODE_SETTING = "TILLPOINT_TERMINAL_ACCESS_CODE"
MIN_CODE_LENGTH = 12
TRIES_PER_MINUTE = 5
SESSION_SECONDS = 12 * 3600  # a long shift; then the code is asked again
# No 0/O or 1/I: the code is read off one screen and typed on another.
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class AccessCodeError(ValueError):
    """An access code given in the setting that is too weak to guard a till."""


class TooManyTriesError(Exception):
    """Too many wrong codes in the last minute: no code is checked until one has passed."""

    def __init__(self, wait_seconds: int) -> None:
        wait = "1 second" if wait_seconds == 1 else f"{wait_seconds} seconds"
        super().__init__(f"Too many wrong codes: wait {wait}, then try again.")
        self.wait_seconds = wait_seconds


def new_access_code() -> str:
    """Sixteen characters in four groups (80 random bits), e.g. K7Q2-M9XA-4HTD-WP3R."""
    characters = "".join(secrets.choice(ALPHABET) for _ in range(16))
    return "-".join(characters[i : i + 4] for i in range(0, 16, 4))


def checked_access_code(code: str) -> str:
    """A code from the setting, if it is long enough to be a lock."""
    code = code.strip()
    if len(code) < MIN_CODE_LENGTH:
        raise AccessCodeError(
            f"{ACCESS_CODE_SETTING} is too short ({len(code)} characters): use at least "
            f"{MIN_CODE_LENGTH}, or unset it to get a new random code at each start"
        )
    return code


class SignIn:
    """The access code, the sessions it opened, and the throttle on wrong tries."""

    def __init__(
        self,
        code: str,
        *,
        clock: Callable[[], float] = time.monotonic,
        session_seconds: float = SESSION_SECONDS,
        tries_per_minute: int = TRIES_PER_MINUTE,
    ) -> None:
        self._code = code.encode()
        self._clock = clock
        self._session_seconds = session_seconds
        self._tries_per_minute = tries_per_minute
        self._wrong: deque[float] = deque()  # when the recent wrong codes came
        self._sessions: dict[str, float] = {}  # session id -> when it ends

    def try_code(self, given: str) -> str | None:
        """A new session's id for the right code, None for a wrong one. While the throttle
        holds, even the right code waits: otherwise it would tell a guesser when to stop."""
        now = self._clock()
        while self._wrong and self._wrong[0] <= now - 60:
            self._wrong.popleft()
        if len(self._wrong) >= self._tries_per_minute:
            raise TooManyTriesError(max(1, int(self._wrong[0] + 60 - now + 0.999)))
        if not hmac.compare_digest(given.strip().encode(), self._code):
            self._wrong.append(now)
            return None
        session = secrets.token_urlsafe(32)
        self._sessions[session] = now + self._session_seconds
        return session

    def knows(self, session: str | None) -> bool:
        """Whether `session` (a cookie's value) is one this sign-in opened and still open."""
        if not session:
            return False
        ends = self._sessions.get(session)
        if ends is None:
            return False
        if ends <= self._clock():
            del self._sessions[session]
            return False
        return True

    def sign_out(self, session: str | None) -> None:
        if session:
            self._sessions.pop(session, None)
