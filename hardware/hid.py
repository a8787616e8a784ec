"""USB/HID barcode scanners: keyboards that type the code, then Enter.

The terminal sees a scanner as fast typing. `KeystrokeAssembler` turns a stream of keys into
codes: characters that arrive in one quick burst and end with Enter. Slow typing (a person at
the keyboard) is not taken for a scan, so a cashier's shortcut keys stay shortcut keys.
"""

from __future__ import annotations

__all__ = ["KeystrokeAssembler"]

ENTER_KEYS = frozenset({"enter", "return", "\r", "\n"})


class KeystrokeAssembler:
    def __init__(self, *, max_gap: float = 0.05, min_length: int = 4) -> None:
        self.max_gap = max_gap  # seconds between two keys of one scan; scanners manage < 10 ms
        self.min_length = min_length
        self._buffer: list[str] = []
        self._last = 0.0

    def feed(self, key: str, at: float) -> str | None:
        """Take one key (a character, or "enter") pressed at `at` seconds; a code when complete."""
        if self._buffer and at - self._last > self.max_gap:
            self._buffer.clear()  # a pause: whatever came before was a person typing
        self._last = at
        if key in ENTER_KEYS:
            code = "".join(self._buffer)
            self._buffer.clear()
            return code if len(code) >= self.min_length else None
        if len(key) == 1 and key.isprintable():
            self._buffer.append(key)
        else:
            self._buffer.clear()  # a function key: not a scanner
        return None
