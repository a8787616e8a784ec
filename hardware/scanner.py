"""A camera that reports codes: frames in, new codes out, each code once per cooldown.

A code held in front of the camera is in thirty frames a second; the cashier wants it once.
`Scanner.poll()` reads one frame, decodes it and returns what is new. Call it from a worker
thread, never from the UI thread: reading a webcam blocks until the next frame.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .camera import FrameSource
from .decoder import QrDecoder

__all__ = ["Cooldown", "Scanner", "Sighting"]


class Cooldown:
    """Forgets a code only after it has been out of sight for `seconds`."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self._last_seen: dict[str, float] = {}

    def fresh(self, codes: Iterable[str]) -> list[str]:
        now = self.clock()
        new = []
        for code in codes:
            last = self._last_seen.get(code)
            if last is None or now - last > self.seconds:
                new.append(code)
            # Seen again while cooling down: the cooldown starts over, so a card left
            # lying under the camera is not redeemed twice.
            self._last_seen[code] = now
        if len(self._last_seen) > 1000:
            self._last_seen = {
                code: seen for code, seen in self._last_seen.items() if now - seen <= self.seconds
            }
        return new


@dataclass(frozen=True)
class Sighting:
    new_codes: tuple[str, ...]  # codes not reported within the cooldown
    codes: tuple[str, ...]  # every code in the frame
    ms: float  # decode time for this frame


class Scanner:
    def __init__(
        self,
        source: FrameSource,
        decoder: QrDecoder | None = None,
        cooldown: Cooldown | None = None,
    ) -> None:
        self.source = source
        self.decoder = decoder or QrDecoder()
        self.cooldown = cooldown or Cooldown(3.0)
        self.frames = 0

    def poll(self) -> Sighting | None:
        """The next frame's codes, or None when the source has no more frames."""
        frame = self.source.read()
        if frame is None:
            return None
        self.frames += 1
        decoded = self.decoder.decode(frame)
        return Sighting(tuple(self.cooldown.fresh(decoded.codes)), decoded.codes, decoded.ms)

    def close(self) -> None:
        self.source.close()
