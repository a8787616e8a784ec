"""Secrets people type or receive: the one-time codes emailed to verify an address or reset a
password, and two-step sign-in's recovery codes. Kept as SHA-256 hashes only — they are long
and random, so a hash is as good as a slow one (unlike a password)."""

from __future__ import annotations

import hashlib
import secrets

__all__ = ["hash_code", "new_account_code", "new_recovery_code", "normalise"]

# No 0/O, 1/I/L or U: nothing to confuse when typed from an email.
_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstvwxyz23456789"


def _random(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def new_account_code() -> str:
    """12 characters (59 bits) in three groups: `ABCD-EFGH-JKMN`."""
    raw = _random(_ALPHABET, 12)
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def new_recovery_code() -> str:
    """10 characters (49 bits) in two groups: `abcde-fghjk`."""
    raw = _random(_RECOVERY_ALPHABET, 10)
    return f"{raw[:5]}-{raw[5:]}"


def normalise(code: str) -> str:
    """As typed: any case, with or without the dashes and spaces."""
    return "".join(c for c in code.upper() if c.isalnum())


def hash_code(code: str) -> str:
    return hashlib.sha256(normalise(code).encode()).hexdigest()
