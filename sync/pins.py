"""Staff PINs at the till: hashed by the server, checked offline by the terminal.

A PIN is short (4 to 8 digits), so its hash is made slow and salted: scrypt, with its cost in
the stored text (`scrypt$15$8$1$<salt>$<hash>`: log2 N, r, p, then base64), so a later,
costlier setting still reads the hashes made before it. docs/till-staff.md says what this
does and does not protect against.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

__all__ = ["MAX_PIN", "MIN_PIN", "PIN_COST", "hash_pin", "pin_problem", "verify_pin"]

MIN_PIN = 4
MAX_PIN = 8
PIN_COST = 15  # log2 of scrypt's N: 32 MiB and about 0.1 s a try on a till's CPU
_R, _P = 8, 1
_MAX_COST = 20  # what a terminal agrees to compute (1 GiB would stall it)
_PIN = re.compile(r"[0-9]+")


def pin_problem(pin: str) -> str | None:
    """What is wrong with `pin` as a PIN, in words; None when it will do."""
    if not _PIN.fullmatch(pin):
        return "a PIN is digits only"
    if not MIN_PIN <= len(pin) <= MAX_PIN:
        return f"a PIN has {MIN_PIN} to {MAX_PIN} digits"
    if len(set(pin)) == 1 or pin in "0123456789" or pin in "9876543210":
        return "a PIN of one repeated digit or a run (1234) is the first one guessed"
    return None


def _derive(pin: str, salt: bytes, cost: int, r: int, p: int) -> bytes:
    n = 1 << cost
    return hashlib.scrypt(
        pin.encode(), salt=salt, n=n, r=r, p=p, dklen=32, maxmem=2 * 128 * r * n + (1 << 20)
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_pin(pin: str, *, cost: int = PIN_COST) -> str:
    """The stored form of `pin`, with a salt of its own."""
    salt = secrets.token_bytes(16)
    return f"scrypt${cost}${_R}${_P}${_b64(salt)}${_b64(_derive(pin, salt, cost, _R, _P))}"


def verify_pin(pin: str, stored: str) -> bool:
    """Whether `pin` is the PIN `stored` was made from; False for a text that is not one of
    these hashes (or asks for more work than a till should do)."""
    try:
        scheme, cost, r, p, salt, expected = stored.split("$")
        if scheme != "scrypt" or not (1 <= int(cost) <= _MAX_COST and int(r) <= 16 and int(p) <= 4):
            return False
        derived = _derive(pin, base64.b64decode(salt), int(cost), int(r), int(p))
        return hmac.compare_digest(derived, base64.b64decode(expected))
    except (ValueError, MemoryError):
        return False
