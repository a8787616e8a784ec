"""CBOR Web Token claims (RFC 8392) and Tillpoint's private claims.

Standard claims: ``iss`` (1) business id, ``sub`` (2) card or voucher id,
``exp`` (4), ``nbf`` (5), ``iat`` (6), ``cti`` (7) token id. Private claims use
small negative labels to save QR space (every byte costs 1.5 characters); they
are only read inside the ``TP1:`` format:

=====  ============  ===========================================
label  name          value
=====  ============  ===========================================
-1     kind          1 gift card, 2 voucher
-2     currency      ISO 4217 code, text
-3     deal          deal id (vouchers)
-4     face          face value in minor units (vouchers)
=====  ============  ===========================================
"""

from __future__ import annotations

import base64
import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import cbor2

from ..money import Money, MoneyError, currency
from .cose import cbor_loads
from .errors import BadClaimsError

__all__ = [
    "CLAIM_NAMES",
    "Kind",
    "TokenClaims",
    "decode_claims",
    "id_text",
    "parse_id",
]

ISS, SUB, AUD, EXP, NBF, IAT, CTI = 1, 2, 3, 4, 5, 6, 7
KIND, CURRENCY, DEAL, FACE = -1, -2, -3, -4
CLAIM_NAMES: dict[int, str] = {
    ISS: "iss", SUB: "sub", AUD: "aud", EXP: "exp", NBF: "nbf", IAT: "iat", CTI: "cti",
    KIND: "kind", CURRENCY: "currency", DEAL: "deal", FACE: "face",
}  # fmt: skip


class Kind(enum.IntEnum):
    GIFT_CARD = 1
    VOUCHER = 2

    @property
    def label(self) -> str:
        return self.name.lower()


def id_text(raw: bytes) -> str:
    """The text form of a binary id: URL-safe base64 without padding (11 chars for 8 bytes)."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def parse_id(text: str) -> bytes:
    """The bytes of an id given as URL-safe base64 (as printed) or hex."""
    cleaned = text.strip()
    try:
        if len(cleaned) % 2 == 0 and all(c in "0123456789abcdefABCDEF" for c in cleaned):
            return bytes.fromhex(cleaned)
        return base64.urlsafe_b64decode(cleaned + "=" * (-len(cleaned) % 4))
    except ValueError:
        raise ValueError(f"{text!r} is not an id (URL-safe base64 or hex)") from None


def decode_claims(payload: bytes) -> Mapping[Any, Any]:
    claims = cbor_loads(payload, "the token's claims")
    if not isinstance(claims, Mapping):
        raise BadClaimsError("the token's claims are not a CBOR map")
    return claims


def _timestamp(claims: Mapping[Any, Any], label: int) -> int | None:
    value = claims.get(label)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise BadClaimsError(f"claim {CLAIM_NAMES[label]} must be a NumericDate")
    return int(value)


def _bytes(claims: Mapping[Any, Any], label: int, required: bool = True) -> bytes | None:
    value = claims.get(label)
    if value is None and not required:
        return None
    if not isinstance(value, bytes) or not 1 <= len(value) <= 32:
        raise BadClaimsError(f"claim {CLAIM_NAMES[label]} must be an id of 1 to 32 bytes")
    return value


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a Tillpoint gift-card or voucher token says."""

    kind: Kind
    issuer: bytes  # business id
    subject: bytes  # card or voucher id
    token_id: bytes  # this copy of the token; re-issuing makes a new one
    currency: str
    issued_at: int
    expires_at: int | None = None
    not_before: int | None = None
    deal_id: bytes | None = None
    face_minor: int | None = None

    def __post_init__(self) -> None:
        if self.kind is Kind.VOUCHER and (self.deal_id is None or self.face_minor is None):
            raise BadClaimsError("a voucher needs a deal id and a face value")
        if self.kind is Kind.GIFT_CARD and (self.deal_id or self.face_minor is not None):
            raise BadClaimsError("a gift card carries no deal id or face value")
        if self.face_minor is not None and self.face_minor < 0:
            raise BadClaimsError("a voucher's face value cannot be negative")
        try:
            currency(self.currency)
        except MoneyError as exc:
            raise BadClaimsError(str(exc)) from None

    @property
    def face_value(self) -> Money | None:
        return None if self.face_minor is None else Money.of(self.face_minor, self.currency)

    def to_cwt(self) -> dict[int, Any]:
        claims: dict[int, Any] = {
            ISS: self.issuer,
            SUB: self.subject,
            IAT: self.issued_at,
            CTI: self.token_id,
            KIND: int(self.kind),
            CURRENCY: self.currency,
        }
        if self.expires_at is not None:
            claims[EXP] = self.expires_at
        # nbf is left out when it adds nothing: iat already bounds the start.
        if self.not_before is not None and self.not_before > self.issued_at:
            claims[NBF] = self.not_before
        if self.deal_id is not None:
            claims[DEAL] = self.deal_id
        if self.face_minor is not None:
            claims[FACE] = self.face_minor
        return claims

    def encode(self) -> bytes:
        return cbor2.dumps(self.to_cwt())

    @classmethod
    def from_cwt(cls, claims: Mapping[Any, Any]) -> TokenClaims:
        kind_value = claims.get(KIND)
        if kind_value not in (1, 2) or isinstance(kind_value, bool):
            raise BadClaimsError("claim kind must be 1 (gift card) or 2 (voucher)")
        code = claims.get(CURRENCY)
        if not isinstance(code, str):
            raise BadClaimsError("claim currency must be an ISO 4217 code")
        issued_at = _timestamp(claims, IAT)
        if issued_at is None:
            raise BadClaimsError("claim iat (issued at) is missing")
        face = claims.get(FACE)
        if face is not None and (isinstance(face, bool) or not isinstance(face, int)):
            raise BadClaimsError("claim face must be a whole number of minor units")
        return cls(
            kind=Kind(kind_value),
            issuer=_bytes(claims, ISS) or b"",
            subject=_bytes(claims, SUB) or b"",
            token_id=_bytes(claims, CTI) or b"",
            currency=code,
            issued_at=issued_at,
            expires_at=_timestamp(claims, EXP),
            not_before=_timestamp(claims, NBF),
            deal_id=_bytes(claims, DEAL, required=False),
            face_minor=face,
        )

    def to_json(self) -> dict[str, Any]:
        """Named, JSON-ready claims (ids in URL-safe base64, times in ISO 8601 UTC)."""
        out: dict[str, Any] = {
            "kind": self.kind.label,
            "iss": id_text(self.issuer),
            "sub": id_text(self.subject),
            "cti": id_text(self.token_id),
            "currency": self.currency,
            "iat": _iso(self.issued_at),
        }
        for name, value in (("nbf", self.not_before), ("exp", self.expires_at)):
            if value is not None:
                out[name] = _iso(value)
        if self.deal_id is not None:
            out["deal"] = id_text(self.deal_id)
        if self.face_value is not None:
            out["face"] = {"minor": self.face_value.minor, "text": self.face_value.format()}
        return out


def _iso(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")
