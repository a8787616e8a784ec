"""Signed tokens: what a gift-card or voucher QR code carries (see docs/token-format.md).

Layers, each usable alone: `base45`, `cose` (COSE_Sign1), `cwt` (claims), `qr`
(prefix + base45 + zlib), `keys` (issuer keys, trust list), `issuer`, `verifier`.
"""

from .base45 import b45decode, b45encode
from .cwt import Kind, TokenClaims, id_text, parse_id
from .errors import *  # noqa: F403 - the documented exception tree
from .errors import TokenError
from .issuer import issue, new_id, new_token_id
from .keys import IssuerKey, KeyFileError, TrustedKey, TrustList, kid_for, load_public_key
from .qr import MAX_QR_CHARS, PREFIX, Compression
from .verifier import DecodedToken, Verifier, decode

__all__ = [
    "MAX_QR_CHARS",
    "PREFIX",
    "Compression",
    "DecodedToken",
    "IssuerKey",
    "KeyFileError",
    "Kind",
    "TokenClaims",
    "TokenError",
    "TrustList",
    "TrustedKey",
    "Verifier",
    "b45decode",
    "b45encode",
    "decode",
    "id_text",
    "issue",
    "kid_for",
    "load_public_key",
    "new_id",
    "new_token_id",
    "parse_id",
]
