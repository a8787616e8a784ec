"""COSE_Sign1 (RFC 9052 §4.2): one signer, EdDSA or ES256.

We issue with Ed25519; EdDSA over Ed448 verifies too, since COSE names both
curves by the one algorithm and the trusted key fixes which it is.

Only those two algorithms are accepted, and the algorithm must match the
trusted key's type, so neither ``alg: none`` nor a downgrade can get through.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from ..ed25519 import signature_holds
from .errors import BadCborError, BadCoseError, BadSignatureError, UnsupportedAlgError
from .keys import SigningKey

__all__ = [
    "ALG_EDDSA",
    "ALG_ES256",
    "HEADER_ALG",
    "HEADER_KID",
    "Sign1Message",
    "cbor_loads",
    "decode_sign1",
    "sign1",
]

HEADER_ALG = 1
HEADER_KID = 4
ALG_EDDSA = -8
ALG_ES256 = -7
ALG_NAMES = {ALG_EDDSA: "EdDSA", ALG_ES256: "ES256", -35: "ES384", -36: "ES512",
             -37: "PS256", -38: "PS384", -39: "PS512", -257: "RS256"}  # fmt: skip
TAG_SIGN1 = 18
TAG_CWT = 61
_P256_BYTES = 32


def cbor_loads(data: bytes, what: str) -> Any:
    """Decode one complete CBOR item; anything else is a `BadCborError`."""
    try:
        return cbor2.loads(data)
    except RecursionError:
        raise BadCborError(f"{what} nests too deeply") from None
    except Exception as exc:  # cbor2 raises many types on hostile input
        raise BadCborError(f"{what} is not valid CBOR ({type(exc).__name__})") from None


@dataclass(frozen=True, slots=True)
class Sign1Message:
    tagged: bool
    protected_bytes: bytes
    protected: Mapping[Any, Any]
    unprotected: Mapping[Any, Any]
    payload: bytes
    signature: bytes

    def header(self, label: int) -> Any:
        """A header parameter, from the protected bucket first, then the unprotected one."""
        if label in self.protected:
            return self.protected[label]
        return self.unprotected.get(label)

    @property
    def alg(self) -> Any:
        return self.header(HEADER_ALG)

    @property
    def kid(self) -> bytes | None:
        kid = self.header(HEADER_KID)
        return kid if isinstance(kid, bytes) else None

    def to_be_signed(self, external_aad: bytes = b"") -> bytes:
        # RFC 9052 §4.4: with no protected attributes, a zero-length bstr is signed,
        # even where the message carries an encoded empty map.
        protected = self.protected_bytes if self.protected else b""
        return _sig_structure(protected, external_aad, self.payload)

    def verify(self, public_key: PublicKeyTypes, external_aad: bytes = b"") -> None:
        """Check the signature with `public_key`; raise a typed error if it does not hold."""
        alg = self.alg
        if alg not in (ALG_EDDSA, ALG_ES256):
            name = ALG_NAMES.get(alg, repr(alg)) if isinstance(alg, int) else repr(alg)
            raise UnsupportedAlgError(f"signature algorithm {name} is not accepted")
        data = self.to_be_signed(external_aad)
        try:
            if alg == ALG_EDDSA and isinstance(public_key, ed25519.Ed25519PublicKey):
                if not signature_holds(public_key, self.signature, data):
                    raise InvalidSignature
            elif alg == ALG_EDDSA and isinstance(public_key, ed448.Ed448PublicKey):
                public_key.verify(self.signature, data)
            elif (
                alg == ALG_ES256
                and isinstance(public_key, ec.EllipticCurvePublicKey)
                and isinstance(public_key.curve, ec.SECP256R1)
            ):
                public_key.verify(_der_from_raw(self.signature), data, ec.ECDSA(hashes.SHA256()))
            else:
                raise BadSignatureError(
                    f"the trusted key ({_key_kind(public_key)}) cannot have made "
                    f"an {ALG_NAMES[alg]} signature"
                )
        except InvalidSignature:
            raise BadSignatureError("the signature does not match the contents") from None


def _key_kind(key: PublicKeyTypes) -> str:
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"EC {key.curve.name}"
    return type(key).__name__.removeprefix("_").replace("PublicKey", "")


def _der_from_raw(signature: bytes) -> bytes:
    if len(signature) != 2 * _P256_BYTES:
        raise BadSignatureError(f"an ES256 signature is 64 bytes, not {len(signature)}")
    r = int.from_bytes(signature[:_P256_BYTES], "big")
    s = int.from_bytes(signature[_P256_BYTES:], "big")
    return encode_dss_signature(r, s)


def _sig_structure(protected: bytes, external_aad: bytes, payload: bytes) -> bytes:
    return cbor2.dumps(["Signature1", protected, external_aad, payload])


def decode_sign1(data: bytes) -> Sign1Message:
    """Parse a COSE_Sign1 (tagged 18, optionally inside CWT tag 61, or untagged)."""
    item = cbor_loads(data, "the signed token")
    if isinstance(item, cbor2.CBORTag) and item.tag == TAG_CWT:
        item = item.value
    tagged = isinstance(item, cbor2.CBORTag)
    if isinstance(item, cbor2.CBORTag):
        if item.tag != TAG_SIGN1:
            raise BadCoseError(f"CBOR tag {item.tag} is not COSE_Sign1 (tag 18)")
        item = item.value
    if not isinstance(item, Sequence) or isinstance(item, str | bytes) or len(item) != 4:
        raise BadCoseError("a COSE_Sign1 is an array of four items")
    protected_bytes, unprotected, payload, signature = item
    if not isinstance(protected_bytes, bytes):
        raise BadCoseError("the protected header must be a byte string")
    if not isinstance(unprotected, Mapping):
        raise BadCoseError("the unprotected header must be a map")
    if not isinstance(payload, bytes):
        raise BadCoseError("the payload must be attached as a byte string")
    if not isinstance(signature, bytes):
        raise BadCoseError("the signature must be a byte string")
    protected: Any = cbor_loads(protected_bytes, "the protected header") if protected_bytes else {}
    if not isinstance(protected, Mapping):
        raise BadCoseError("the protected header must encode a map")
    return Sign1Message(tagged, protected_bytes, protected, unprotected, payload, signature)


def sign1(
    payload: bytes,
    key: SigningKey,
    kid: bytes | None,
    *,
    kid_protected: bool = True,
    external_aad: bytes = b"",
) -> bytes:
    """Sign `payload` as a tagged COSE_Sign1 with alg (and kid) in the protected header."""
    if isinstance(key, ed25519.Ed25519PrivateKey):
        alg = ALG_EDDSA
    elif isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
        alg = ALG_ES256
    else:
        raise UnsupportedAlgError("sign with an Ed25519 or a P-256 key")
    protected: dict[int, Any] = {HEADER_ALG: alg}
    unprotected: dict[int, Any] = {}
    if kid is not None:
        (protected if kid_protected else unprotected)[HEADER_KID] = kid
    protected_bytes = cbor2.dumps(protected)
    data = _sig_structure(protected_bytes, external_aad, payload)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        signature = key.sign(data)
    else:
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
        signature = r.to_bytes(_P256_BYTES, "big") + s.to_bytes(_P256_BYTES, "big")
    return cbor2.dumps(cbor2.CBORTag(TAG_SIGN1, [protected_bytes, unprotected, payload, signature]))
