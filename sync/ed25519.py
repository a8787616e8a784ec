"""Ed25519 signatures checked with libsodium (PyNaCl): a terminal's pushed events and the
tokens' COSE signatures.

OpenSSL's Ed25519 check, through `cryptography`, took 105 µs a signature on the AMD EPYC
of docs/benchmarks.md, a third of the server's CPU for a pushed event; libsodium's takes
56 µs. Keys stay `cryptography`'s objects everywhere else; only the check is libsodium's.
It is also the stricter of the two: it refuses non-canonical encodings and small-order
keys, which no honest signer makes.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from nacl.bindings import crypto_sign_BYTES, crypto_sign_open
from nacl.exceptions import CryptoError

__all__ = ["signature_holds"]


def signature_holds(key: Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    """Whether `signature` is `key`'s over `data`."""
    if len(signature) != crypto_sign_BYTES:
        return False
    try:
        crypto_sign_open(signature + data, key.public_bytes_raw())
    except CryptoError:
        return False
    return True
