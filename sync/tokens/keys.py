"""Issuer keys, key ids and the trust list terminals verify against.

A key id (kid) is the first 4 bytes of SHA-256 over the public key's
SubjectPublicKeyInfo DER: short, because every byte in a QR code costs 1.5
characters, and derivable from the key alone. Kids of other lengths (the EU
certificate format uses 8) are read all the same.

The trust list holds the current and previous keys. A key's ``not_before`` and
``not_after`` bound when it may have *signed* (the token's ``iat``), so rotating
to a new key never invalidates tokens the old one already issued.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

__all__ = [
    "IssuerKey",
    "KeyFileError",
    "SigningKey",
    "TrustList",
    "TrustedKey",
    "kid_for",
    "load_public_key",
]

SigningKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
KID_LENGTH = 4


class KeyFileError(ValueError):
    """A key, certificate or trust-list file that cannot be read; the message says why."""


def kid_for(public_key: PublicKeyTypes) -> bytes:
    spki = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).digest()[:KID_LENGTH]


def _public_pem(public_key: PublicKeyTypes) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def load_public_key(data: bytes, source: str = "key") -> PublicKeyTypes:
    """A public key from PEM or DER, either a bare SubjectPublicKeyInfo or an X.509
    certificate (whose key is used; its dates are not checked here)."""
    loaders = (
        serialization.load_pem_public_key,
        serialization.load_der_public_key,
        lambda d: x509.load_pem_x509_certificate(d).public_key(),
        lambda d: x509.load_der_x509_certificate(d).public_key(),
    )
    for loader in loaders:
        try:
            key: PublicKeyTypes = loader(data)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            continue
        return key
    raise KeyFileError(f"{source} is not a public key or X.509 certificate in PEM or DER form")


@dataclass(frozen=True, slots=True)
class IssuerKey:
    """A private signing key with its kid."""

    private_key: SigningKey
    kid: bytes

    @classmethod
    def generate(cls) -> IssuerKey:
        private = ed25519.Ed25519PrivateKey.generate()
        return cls(private, kid_for(private.public_key()))

    @classmethod
    def from_private_key(cls, private_key: SigningKey, kid: bytes | None = None) -> IssuerKey:
        return cls(private_key, kid if kid is not None else kid_for(private_key.public_key()))

    @classmethod
    def load(cls, path: Path) -> IssuerKey:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise KeyFileError(f"cannot read private key {path}: {exc.strerror}") from None
        try:
            private = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            raise KeyFileError(f"{path} is not an unencrypted PEM private key") from None
        if not isinstance(private, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey):
            raise KeyFileError(f"{path} holds neither an Ed25519 nor a P-256 private key")
        return cls.from_private_key(private)

    @property
    def public_key(self) -> ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey:
        return self.private_key.public_key()

    @property
    def kid_text(self) -> str:
        return base64.b64encode(self.kid).decode("ascii")

    def private_pem(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def save(self, directory: Path) -> tuple[Path, Path]:
        """Write ``<kid>.private.pem`` (mode 0600) and ``<kid>.public.pem``; return both paths."""
        directory.mkdir(parents=True, exist_ok=True)
        name = self.kid.hex()
        private_path = directory / f"{name}.private.pem"
        public_path = directory / f"{name}.public.pem"
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(self.private_pem())
        public_path.write_text(_public_pem(self.public_key), encoding="ascii")
        return private_path, public_path


@dataclass(frozen=True, slots=True)
class TrustedKey:
    """A public key trusted to have signed tokens issued within its window."""

    kid: bytes | None  # None: trusted for any kid (a key given on the command line)
    public_key: PublicKeyTypes
    not_before: datetime | None = None
    not_after: datetime | None = None

    def covers(self, moment: datetime) -> bool:
        if self.not_before is not None and moment < self.not_before:
            return False
        return self.not_after is None or moment <= self.not_after

    def to_json(self) -> dict[str, str]:
        entry = {
            "kid": base64.b64encode(self.kid or b"").decode("ascii"),
            "key": _public_pem(self.public_key),
        }
        if self.not_before is not None:
            entry["not_before"] = self.not_before.isoformat()
        if self.not_after is not None:
            entry["not_after"] = self.not_after.isoformat()
        return entry


def _parse_time(value: Any, what: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise KeyFileError(f"{what} must be an ISO 8601 string")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise KeyFileError(f"{what} {value!r} is not an ISO 8601 date-time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class TrustList:
    """Keys by kid, plus keys trusted for any kid."""

    keys: tuple[TrustedKey, ...] = field(default_factory=tuple)

    def __iter__(self) -> Iterator[TrustedKey]:
        return iter(self.keys)

    def __len__(self) -> int:
        return len(self.keys)

    def with_keys(self, more: Iterable[TrustedKey]) -> TrustList:
        return TrustList((*self.keys, *more))

    def for_kid(self, kid: bytes | None) -> list[TrustedKey]:
        """The keys to try for a kid: its own entries, else the any-kid keys."""
        named = [k for k in self.keys if kid is not None and k.kid == kid]
        return named or [k for k in self.keys if k.kid is None]

    @classmethod
    def from_json(cls, document: Any) -> TrustList:
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise KeyFileError('a trust list is a JSON object {"keys": [...]}')
        entries = []
        for i, item in enumerate(document["keys"]):
            where = f"keys[{i}]"
            if not isinstance(item, dict):
                raise KeyFileError(f"{where} must be an object with kid and key")
            kid_text, key_text = item.get("kid"), item.get("key")
            if not isinstance(kid_text, str) or not isinstance(key_text, str):
                raise KeyFileError(f"{where} needs a base64 'kid' and a PEM 'key'")
            try:
                kid = base64.b64decode(kid_text, validate=True)
            except ValueError:
                raise KeyFileError(f"{where}.kid is not standard base64") from None
            public_key = load_public_key(key_text.encode("ascii", "replace"), f"{where}.key")
            entries.append(
                TrustedKey(
                    kid,
                    public_key,
                    _parse_time(item.get("not_before"), f"{where}.not_before"),
                    _parse_time(item.get("not_after"), f"{where}.not_after"),
                )
            )
        return cls(tuple(entries))

    @classmethod
    def load(cls, path: Path) -> TrustList:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise KeyFileError(f"cannot read trust list {path}: {exc.strerror}") from None
        except (ValueError, UnicodeDecodeError):
            raise KeyFileError(f"trust list {path} is not valid JSON") from None
        return cls.from_json(document)

    def to_json(self) -> dict[str, list[dict[str, str]]]:
        return {"keys": [k.to_json() for k in self.keys if k.kid is not None]}
