"""The verifier: any text in, valid claims or exactly one typed `TokenError` out."""

from __future__ import annotations

import base64
from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import cbor2

from .cose import ALG_NAMES, HEADER_ALG, HEADER_KID, Sign1Message, decode_sign1
from .cwt import CLAIM_NAMES, EXP, IAT, NBF, TokenClaims, decode_claims, id_text
from .errors import (
    BadClaimsError,
    BadCoseError,
    BlockedError,
    ExpiredError,
    NotYetValidError,
    RevokedError,
    TokenError,
    UnknownKidError,
    UntrustedKeyError,
    WrongIssuerError,
)
from .keys import TrustList
from .qr import PREFIX, Compression, unwrap

__all__ = ["DecodedToken", "Verifier", "decode", "to_json"]

Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def to_json(value: Any) -> Any:
    """CBOR values as JSON: bytes as URL-safe base64, tags as {"tag", "value"}."""
    if isinstance(value, bytes):
        return id_text(value)
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, cbor2.CBORTag):
        return {"tag": value.tag, "value": to_json(value.value)}
    if isinstance(value, datetime):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return repr(value)


def _header_json(message: Sign1Message) -> dict[str, Any]:
    header: dict[str, Any] = {}
    alg = message.alg
    if alg is not None:
        header["alg"] = ALG_NAMES.get(alg, alg) if isinstance(alg, int) else to_json(alg)
    kid = message.header(HEADER_KID)
    if kid is not None:
        header["kid"] = base64.b64encode(kid).decode() if isinstance(kid, bytes) else to_json(kid)
    for bucket in (message.protected, message.unprotected):
        for label, value in bucket.items():
            if label not in (HEADER_ALG, HEADER_KID):
                header.setdefault(str(label), to_json(value))
    return header


@dataclass(frozen=True, slots=True)
class DecodedToken:
    """A token taken apart (verified or not): its header, raw claims and, for ``TP1:``,
    the Tillpoint claims."""

    message: Sign1Message
    claims: Mapping[Any, Any]
    compressed: bool
    tillpoint: TokenClaims | None

    @property
    def header_json(self) -> dict[str, Any]:
        return _header_json(self.message)

    @property
    def claims_json(self) -> dict[str, Any]:
        if self.tillpoint is not None:
            return self.tillpoint.to_json()
        return {CLAIM_NAMES.get(k, str(k)): to_json(v) for k, v in self.claims.items()}


def _check_tillpoint_form(message: Sign1Message) -> None:
    """``TP1:`` tokens have one form, so a token's text cannot be varied while its
    signature still holds: tagged, and nothing unsigned but the kid."""
    if not message.tagged:
        raise BadCoseError("a TP1 token is a tagged COSE_Sign1 (tag 18)")
    if set(message.unprotected) - {HEADER_KID}:
        raise BadCoseError("a TP1 token carries no unprotected header but the kid")


def _decode_message(text: str, prefix: str, compression: Compression) -> tuple[Sign1Message, bool]:
    unwrapped = unwrap(text, prefix, compression)
    message = decode_sign1(unwrapped.cose)
    if prefix == PREFIX:
        _check_tillpoint_form(message)
    return message, unwrapped.compressed


def decode(
    text: str, prefix: str = PREFIX, compression: Compression = Compression.OPTIONAL
) -> DecodedToken:
    """Take a token apart without checking its signature or dates."""
    message, compressed = _decode_message(text, prefix, compression)
    claims = decode_claims(message.payload)
    tillpoint = TokenClaims.from_cwt(claims) if prefix == PREFIX else None
    return DecodedToken(message, claims, compressed, tillpoint)


def _moment(claims: Mapping[Any, Any], label: int) -> datetime | None:
    value = claims.get(label)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadClaimsError(f"claim {CLAIM_NAMES[label]} must be a NumericDate")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        raise BadClaimsError(f"claim {CLAIM_NAMES[label]} is out of range") from None


@dataclass
class Verifier:
    """Checks a token against a trust list, a clock, and the revocation and block lists.

    `revoked` holds token ids (cti) whose copy was replaced; `blocked` holds card or
    voucher ids (sub) under review. `issuer`, when set, is the business this terminal
    redeems for. `leeway` forgives that much clock difference at the start of validity.
    """

    trust: TrustList
    prefix: str = PREFIX
    compression: Compression = Compression.OPTIONAL
    issuer: bytes | None = None
    revoked: Container[bytes] = field(default_factory=frozenset)
    blocked: Container[bytes] = field(default_factory=frozenset)
    leeway: timedelta = timedelta(0)
    clock: Clock = _utcnow

    def verify(self, text: str, now: datetime | None = None) -> DecodedToken:
        """Valid claims, or a `TokenError` subclass: never any other exception."""
        try:
            return self._verify(text, self.clock() if now is None else now)
        except TokenError:
            raise
        except Exception as exc:  # a bug must not pass a token, nor crash a till
            raise BadCoseError(f"the token could not be read ({type(exc).__name__})") from exc

    def _verify(self, text: str, now: datetime) -> DecodedToken:
        message, compressed = _decode_message(text, self.prefix, self.compression)
        kid = message.kid
        candidates = self.trust.for_kid(kid)
        if not candidates:
            shown = base64.b64encode(kid).decode() if kid else "none"
            raise UnknownKidError(f"no trusted key has kid {shown}")
        failure: TokenError | None = None
        for trusted in candidates:
            try:
                message.verify(trusted.public_key)
            except TokenError as exc:
                failure = failure or exc
                continue
            break
        else:
            assert failure is not None
            raise failure
        claims = decode_claims(message.payload)
        tillpoint = TokenClaims.from_cwt(claims) if self.prefix == PREFIX else None
        issued_at = _moment(claims, IAT)
        if not trusted.covers(issued_at or now):
            raise UntrustedKeyError("the key was outside its validity dates when it signed")
        self._check_dates(claims, now)
        if tillpoint is not None:
            self.check_lists(tillpoint)
        return DecodedToken(message, claims, compressed, tillpoint)

    def _check_dates(self, claims: Mapping[Any, Any], now: datetime) -> None:
        expires = _moment(claims, EXP)
        if expires is not None and now >= expires:
            raise ExpiredError(f"expired at {expires:%Y-%m-%d %H:%M} UTC")
        for label in (NBF, IAT):
            start = _moment(claims, label)
            if start is not None and now + self.leeway < start:
                raise NotYetValidError(f"valid from {start:%Y-%m-%d %H:%M:%S} UTC")

    def check_lists(self, claims: TokenClaims) -> None:
        """The issuer, revocation and block checks alone (the last of `verify`'s), for
        claims verified before those lists were known: a server reads its revocation of
        a code with the rest of a request's reads, once the code says which card it is."""
        if self.issuer is not None and claims.issuer != self.issuer:
            raise WrongIssuerError(f"issued by business {id_text(claims.issuer)}")
        if claims.token_id in self.revoked:
            raise RevokedError(f"token {id_text(claims.token_id)} was replaced by a newer one")
        if claims.subject in self.blocked:
            raise BlockedError(
                f"{claims.kind.label.replace('_', ' ')} {id_text(claims.subject)} is blocked"
            )
