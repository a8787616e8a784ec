"""Base45 (RFC 9285): the QR-alphanumeric-friendly encoding of bytes."""

from __future__ import annotations

import struct

from .errors import BadBase45Error

__all__ = ["ALPHABET", "b45decode", "b45encode"]

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_INVALID = 0xFF
# Character code → its value, or _INVALID: one `bytes.translate` maps a whole text.
_TABLE = bytes(ALPHABET.index(chr(i)) if chr(i) in ALPHABET else _INVALID for i in range(256))


def b45encode(data: bytes) -> str:
    out: list[str] = []
    for i in range(0, len(data) - 1, 2):
        n = data[i] * 256 + data[i + 1]
        n, c = divmod(n, 45)
        e, d = divmod(n, 45)
        out += (ALPHABET[c], ALPHABET[d], ALPHABET[e])
    if len(data) % 2:
        d, c = divmod(data[-1], 45)
        out += (ALPHABET[c], ALPHABET[d])
    return "".join(out)


def b45decode(text: str | bytes) -> bytes:
    """Decode, rejecting characters outside the alphabet, a dangling character, and
    groups whose value does not fit (RFC 9285 §6)."""
    try:
        raw = text.encode("ascii") if isinstance(text, str) else bytes(text)
    except UnicodeEncodeError:
        raise BadBase45Error("base45 text must be ASCII") from None
    values = raw.translate(_TABLE)
    if _INVALID in values:
        bad = chr(raw[values.index(_INVALID)])
        raise BadBase45Error(f"{bad!r} is not a base45 character")
    whole, rest = divmod(len(values), 3)
    if rest == 1:
        raise BadBase45Error(f"base45 text of length {len(values)} has a dangling character")
    # Column-wise arithmetic over the triplets: this runs on every scan, so keep it quick.
    end = whole * 3
    pairs = [
        c + d * 45 + e * 2025
        for c, d, e in zip(values[0:end:3], values[1:end:3], values[2:end:3], strict=True)
    ]
    if pairs and max(pairs) > 0xFFFF:
        at = next(i for i, n in enumerate(pairs) if n > 0xFFFF) * 3
        raise BadBase45Error(f"base45 group {raw[at : at + 3].decode()!r} is out of range")
    out = struct.pack(f">{whole}H", *pairs)
    if rest:
        last = values[end] + values[end + 1] * 45
        if last > 0xFF:
            raise BadBase45Error(f"base45 group {raw[end:].decode()!r} is out of range")
        out += bytes((last,))
    return out
