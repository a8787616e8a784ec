"""Signatures as the Standard Webhooks spec has them (standardwebhooks.org): HMAC-SHA256 of
`{webhook-id}.{webhook-timestamp}.{body}` with the endpoint's secret, sent as
`webhook-signature: v1,<base64>`; several signatures, space-separated, while a rotated-out
secret still signs beside the new one."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterable
from datetime import datetime
from math import floor

from standardwebhooks import Webhook

__all__ = ["SECRET_PREFIX", "new_secret", "signed_headers"]

SECRET_PREFIX = "whsec_"  # noqa: S105 - the spec's prefix, not a secret
SECRET_BYTES = 32


def new_secret() -> str:
    """A new signing secret, `whsec_` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def signed_headers(
    message_id: str, at: datetime, body: str, secrets_: Iterable[str]
) -> dict[str, str]:
    """The three headers of one attempt, signed with each of `secrets_`."""
    signatures = [Webhook(secret).sign(message_id, at, body) for secret in secrets_]
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(floor(at.timestamp())),
        "webhook-signature": " ".join(signatures),
    }
