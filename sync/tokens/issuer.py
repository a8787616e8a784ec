"""Issuing Tillpoint tokens: claims in, ``TP1:`` QR text out."""

from __future__ import annotations

import secrets

from .cose import sign1
from .cwt import TokenClaims
from .errors import TokenTooLargeError
from .keys import IssuerKey
from .qr import MAX_QR_CHARS, PREFIX, wrap

__all__ = ["ID_BYTES", "TOKEN_ID_BYTES", "issue", "new_id", "new_token_id"]

ID_BYTES = 8  # businesses, cards, vouchers, deals
TOKEN_ID_BYTES = 4  # cti: the server keeps it unique per business, so 4 bytes suffice


def new_id() -> bytes:
    return secrets.token_bytes(ID_BYTES)


def new_token_id() -> bytes:
    return secrets.token_bytes(TOKEN_ID_BYTES)


def issue(key: IssuerKey, claims: TokenClaims) -> str:
    """Sign `claims` and return the QR text; refuses a text longer than a QR code allows."""
    text = wrap(sign1(claims.encode(), key.private_key, key.kid), PREFIX)
    if len(text) > MAX_QR_CHARS:
        raise TokenTooLargeError(f"the token is {len(text)} characters, over {MAX_QR_CHARS}")
    return text
