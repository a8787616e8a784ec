"""Base45 (RFC 9285): the QR-alphanumeric-friendly encoding of bytes."""

from __future__ import annotations

from .errors import BadBase45Error

__all__ = ["ALPHABET", "b45decode", "b45encode"]

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_VALUE = {c: i for i, c in enumerate(ALPHABET)}


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
    if isinstance(text, bytes):
        try:
            text = text.decode("ascii")
        except UnicodeDecodeError:
            raise BadBase45Error("base45 text must be ASCII") from None
    try:
        values = [_VALUE[c] for c in text]
    except KeyError as exc:
        raise BadBase45Error(f"{exc.args[0]!r} is not a base45 character") from None
    if len(values) % 3 == 1:
        raise BadBase45Error(f"base45 text of length {len(values)} has a dangling character")
    out = bytearray()
    for i in range(0, len(values), 3):
        group = values[i : i + 3]
        n = sum(v * 45**k for k, v in enumerate(group))
        if len(group) == 3:
            if n > 0xFFFF:
                raise BadBase45Error(f"base45 group {text[i : i + 3]!r} is out of range")
            out += n.to_bytes(2, "big")
        else:
            if n > 0xFF:
                raise BadBase45Error(f"base45 group {text[i : i + 2]!r} is out of range")
            out.append(n)
    return bytes(out)
