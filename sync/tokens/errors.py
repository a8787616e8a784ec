"""Every way a token can be wrong, one typed error each.

Callers catch `TokenError` for all of them; `code` is the stable machine name
used by the CLI, the API and the terminal. Messages say what to do next.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "BadBase45Error",
    "BadCborError",
    "BadClaimsError",
    "BadCompressionError",
    "BadCoseError",
    "BadPrefixError",
    "BadSignatureError",
    "BlockedError",
    "ExpiredError",
    "NotYetValidError",
    "RevokedError",
    "TokenError",
    "TokenTooLargeError",
    "UnknownKidError",
    "UnsupportedAlgError",
    "UntrustedKeyError",
    "WrongIssuerError",
]


class TokenError(ValueError):
    """Base of every token error."""

    code: ClassVar[str] = "token_error"
    hint: ClassVar[str] = ""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        # What to do first, in the reader's words; what was found, for whoever digs further.
        hint = self.hint.removesuffix(".")
        super().__init__(f"{hint} ({detail})." if hint else detail)

    @property
    def message(self) -> str:
        return str(self)


class BadPrefixError(TokenError):
    code = "bad_prefix"
    hint = "This is not a Tillpoint code: scan the customer's gift card or voucher QR code."


class BadBase45Error(TokenError):
    code = "bad_base45"
    hint = "The code is damaged or was mistyped: scan it again."


class BadCompressionError(TokenError):
    code = "bad_compression"
    hint = "The code is damaged: scan it again or ask the customer to re-open it in the app."


class BadCborError(TokenError):
    code = "bad_cbor"
    hint = "The code is damaged: scan it again or ask the customer to re-open it in the app."


class BadCoseError(TokenError):
    code = "bad_cose"
    hint = "The code is not a signed token: scan the customer's gift card or voucher QR code."


class UnsupportedAlgError(TokenError):
    code = "unsupported_alg"
    hint = "Only EdDSA (Ed25519) and ES256 signatures are accepted."


class UnknownKidError(TokenError):
    code = "unknown_kid"
    hint = "The signing key is not in the trust list: sync the terminal, then scan again."


class UntrustedKeyError(TokenError):
    code = "untrusted_key"
    hint = "The signing key was not valid when the token was issued: refuse the code."


class BadSignatureError(TokenError):
    code = "bad_signature"
    hint = "The code has been altered or forged: refuse it."


class BadClaimsError(TokenError):
    code = "bad_claims"
    hint = "The code's contents are not a Tillpoint card or voucher: refuse it."


class NotYetValidError(TokenError):
    code = "not_yet_valid"
    hint = "The code cannot be used yet: check the terminal's clock, or ask the customer to wait."


class ExpiredError(TokenError):
    code = "expired"
    hint = "The code has expired: it cannot be redeemed."


class WrongIssuerError(TokenError):
    code = "wrong_issuer"
    hint = "The code belongs to another business: it cannot be redeemed here."


class RevokedError(TokenError):
    code = "revoked"
    hint = "This copy of the code was replaced: ask the customer to open the current one."


class BlockedError(TokenError):
    code = "blocked"
    hint = "The card or voucher is blocked for review: the vendor can see why."


class TokenTooLargeError(TokenError):
    code = "too_large"
    hint = "Shorten the claims: the QR text must stay within 220 characters."
