"""TOTP codes (RFC 6238, through pyotp): 6 digits every 30 seconds from a shared secret.
A code is taken for one time step at most once: `mfa_last_step` remembers the last."""

from __future__ import annotations

import hmac
from datetime import datetime

import pyotp

__all__ = ["ISSUER", "matching_step", "new_secret", "provisioning_uri"]

ISSUER = "Tillpoint"
_DRIFT_STEPS = 1  # a phone's clock may be a step (30 s) behind or ahead


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, email: str) -> str:
    """The `otpauth://` URI an authenticator app reads (as a QR code, or typed)."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def matching_step(secret: str, code: str, last_step: int | None, now: datetime) -> int | None:
    """The time step `code` is right for — now, or one step either side — that is later than
    `last_step`; None when there is none (wrong, or used already)."""
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - _DRIFT_STEPS, current + _DRIFT_STEPS + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None
