"""The text a QR code carries: prefix + base45 of an (optionally zlib-compressed)
COSE_Sign1 — ``TP1:`` for Tillpoint, ``HC1:`` for the EU certificate format."""

from __future__ import annotations

import enum
import zlib
from dataclasses import dataclass

from .base45 import b45decode, b45encode
from .errors import BadCompressionError, BadPrefixError

__all__ = ["MAX_QR_CHARS", "PREFIX", "Compression", "Unwrapped", "unwrap", "wrap"]

PREFIX = "TP1:"
MAX_QR_CHARS = 220  # QR version 8 at error correction M, scannable from a phone screen
_MAX_INFLATED = 64 * 1024  # a token is a few hundred bytes; refuse zlib bombs


class Compression(enum.StrEnum):
    OPTIONAL = "optional"  # inflate when the data starts with a zlib header
    REQUIRED = "required"  # the EU format always compresses
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Unwrapped:
    cose: bytes
    compressed: bool


def _looks_like_zlib(data: bytes) -> bool:
    # CMF 0x78 (deflate, 32 KiB window) and a header checksum that holds. A COSE_Sign1
    # starts with 0xD2 (tag 18), 0xD8 (tag 61) or 0x84 (array), never with 0x78.
    return len(data) >= 2 and data[0] == 0x78 and (data[0] * 256 + data[1]) % 31 == 0


def unwrap(
    text: str, prefix: str = PREFIX, compression: Compression = Compression.OPTIONAL
) -> Unwrapped:
    """Strip the prefix, decode base45, inflate if compressed."""
    if not text.startswith(prefix):
        shown = text[: len(prefix)] if text else "empty text"
        raise BadPrefixError(f"expected the prefix {prefix!r}, got {shown!r}")
    data = b45decode(text[len(prefix) :])
    compressed = compression is not Compression.NONE and _looks_like_zlib(data)
    if not compressed:
        if compression is Compression.REQUIRED:
            raise BadCompressionError("the data is not zlib-compressed, as this format requires")
        return Unwrapped(data, compressed=False)
    inflater = zlib.decompressobj()
    try:
        inflated = inflater.decompress(data, _MAX_INFLATED)
    except zlib.error as exc:
        raise BadCompressionError(f"the zlib data is corrupt ({exc})") from None
    if inflater.unconsumed_tail:
        raise BadCompressionError(f"the data inflates to more than {_MAX_INFLATED} bytes")
    if not inflater.eof:
        raise BadCompressionError("the zlib data is cut short")
    return Unwrapped(inflated, compressed=True)


def wrap(cose: bytes, prefix: str = PREFIX, compress: bool = False) -> str:
    data = zlib.compress(cose, 9) if compress else cose
    return prefix + b45encode(data)
