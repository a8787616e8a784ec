"""Short-lived JWT access tokens, and opaque refresh tokens stored as hashes."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt

from .models import Role

__all__ = ["AccessClaims", "TokenSigner", "hash_refresh_token", "load_or_create_secret"]

ACCESS_LIFETIME = timedelta(minutes=15)
REFRESH_LIFETIME = timedelta(days=30)
ALGORITHM = "HS256"


def load_or_create_secret(path: Path) -> bytes:
    """The signing secret, shared by every worker through the data folder (mode 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("xb") as out:
            path.chmod(0o600)
            out.write(secrets.token_hex(32).encode())
    except FileExistsError:
        pass
    return path.read_bytes().strip()


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class AccessClaims:
    user_id: str
    role: Role


class InvalidAccessToken(Exception):
    pass


class TokenSigner:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def access_token(self, user_id: str, role: Role, now: datetime | None = None) -> str:
        issued = now or datetime.now(UTC)
        payload = {
            "sub": user_id,
            "role": role.value,
            "iat": issued,
            "exp": issued + ACCESS_LIFETIME,
            "typ": "access",
        }
        return jwt.encode(payload, self._secret, algorithm=ALGORITHM)

    def read(self, token: str) -> AccessClaims:
        try:
            payload = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                options={"require": ["exp", "sub", "role"]},
            )
            if payload.get("typ") != "access":
                raise InvalidAccessToken("not an access token")
            return AccessClaims(str(payload["sub"]), Role(payload["role"]))
        except jwt.ExpiredSignatureError:
            raise InvalidAccessToken("the access token has expired: refresh it") from None
        except (jwt.InvalidTokenError, ValueError):
            raise InvalidAccessToken("the access token is not valid: sign in again") from None

    @staticmethod
    def new_refresh_token() -> str:
        return secrets.token_urlsafe(32)
