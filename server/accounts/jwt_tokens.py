"""Short-lived JWT access tokens, opaque refresh tokens stored as hashes, device tokens
that let a known device sign in while its account is throttled, and two tokens of two-step
sign-in: the MFA ticket (the password was right; a code is still due) and the enrolment
token (an admin without two-step sign-in may only set it up)."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt

from .models import Role

__all__ = [
    "CONSOLE_LIFETIME",
    "AccessClaims",
    "ConsoleClaims",
    "DeviceClaims",
    "MfaTicket",
    "TokenSigner",
    "hash_refresh_token",
    "load_or_create_secret",
    "read_secret",
]

ACCESS_LIFETIME = timedelta(minutes=15)
REFRESH_LIFETIME = timedelta(days=30)
DEVICE_LIFETIME = timedelta(days=365)
MFA_TICKET_LIFETIME = timedelta(minutes=5)
CONSOLE_LIFETIME = timedelta(hours=8)  # an operator's working day in the web console
ALGORITHM = "HS256"
MIN_SECRET_BYTES = 32


def load_or_create_secret(path: Path) -> bytes:
    """The signing secret in a file of the data folder (mode 0600), made on first use: every
    worker of one host shares it; other hosts need `read_secret`'s shared configuration."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("xb") as out:
            path.chmod(0o600)
            out.write(secrets.token_hex(32).encode())
    except FileExistsError:
        pass
    return path.read_bytes().strip()


def read_secret(value: str, path: Path | None, default_path: Path) -> bytes:
    """The secret from configuration every host shares — the value itself (environment), or
    a mounted secret file — else the data folder's own file (one host)."""
    if value:
        secret = value.encode()
    elif path is not None:
        if not path.is_file():
            raise ValueError(f"the JWT secret file {path} does not exist: mount it or fix the path")
        secret = path.read_bytes().strip()
    else:
        return load_or_create_secret(default_path)
    if len(secret) < MIN_SECRET_BYTES:
        raise ValueError(
            f"the JWT secret has {len(secret)} bytes: use at least {MIN_SECRET_BYTES} "
            "(e.g. `openssl rand -hex 32`)"
        )
    return secret


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class AccessClaims:
    user_id: str
    role: Role
    token_id: str  # `jti`: what the deny list names after a logout
    session_id: str  # `sid`: the refresh-token family the token was issued in
    expires: datetime
    enrolment_only: bool = False  # an admin's token that may only set up two-step sign-in


@dataclass(frozen=True)
class DeviceClaims:
    user_id: str
    device_id: str


@dataclass(frozen=True)
class MfaTicket:
    """The password was right: the code from the authenticator app is still due."""

    user_id: str
    ticket_id: str
    device_id: str | None  # the known device the password came from, if any
    expires: datetime


@dataclass(frozen=True)
class ConsoleClaims:
    """An admin's web console sign-in (its cookie): who, and the session to check is open."""

    user_id: str
    session_id: str


class InvalidAccessToken(Exception):
    pass


_ENROLMENT_ONLY = (
    "this token only sets up two-step sign-in, which admins must use: set it up with "
    "POST /api/v1/me/mfa and /api/v1/me/mfa/confirm, then sign in again"
)


# Access tokens already read, by their text: a till sends the same token with every sale, and
# checking its signature and claims again cost more than the rest of the request's auth.
_READ_TOKENS_KEPT = 10_000


class TokenSigner:
    def __init__(self, secret: bytes, clock: Callable[[], float] = time.time) -> None:
        """`clock` (seconds since the epoch) says when a token read before has expired."""
        self._secret, self._clock = secret, clock
        self._read: dict[str, AccessClaims] = {}

    def access_token(
        self,
        user_id: str,
        role: Role,
        session_id: str,
        now: datetime | None = None,
        *,
        enrolment_only: bool = False,
    ) -> str:
        issued = now or datetime.now(UTC)
        payload = {
            "sub": user_id,
            "role": role.value,
            "iat": issued,
            "exp": issued + ACCESS_LIFETIME,
            "jti": uuid.uuid4().hex,
            "sid": session_id,
            "typ": "enrol" if enrolment_only else "access",
        }
        return jwt.encode(payload, self._secret, algorithm=ALGORITHM)

    def read(self, token: str, *, enrolment: bool = False) -> AccessClaims:
        """An access token's claims; with `enrolment`, an enrolment token's too (only the
        routes that set up two-step sign-in take those). A token read before is not checked
        again, only its expiry: what it says cannot change."""
        claims = self._read.get(token)
        if claims is None:
            claims = self._check(token)
            if len(self._read) >= _READ_TOKENS_KEPT:
                self._read.clear()
            self._read[token] = claims
        elif claims.expires.timestamp() <= self._clock():
            self._read.pop(token, None)
            raise InvalidAccessToken("the access token has expired: refresh it")
        if claims.enrolment_only and not enrolment:
            raise InvalidAccessToken(_ENROLMENT_ONLY)
        return claims

    def _check(self, token: str) -> AccessClaims:
        try:
            payload = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                options={"require": ["exp", "sub", "role", "jti", "sid"]},
            )
            kind = payload.get("typ")
            if kind not in ("access", "enrol"):
                raise InvalidAccessToken("not an access token")
            return AccessClaims(
                str(payload["sub"]),
                Role(payload["role"]),
                str(payload["jti"]),
                str(payload["sid"]),
                datetime.fromtimestamp(int(payload["exp"]), UTC),
                enrolment_only=kind == "enrol",
            )
        except jwt.ExpiredSignatureError:
            raise InvalidAccessToken("the access token has expired: refresh it") from None
        except (jwt.InvalidTokenError, ValueError, TypeError):
            raise InvalidAccessToken("the access token is not valid: sign in again") from None

    def device_token(self, user_id: str, device_id: str) -> str:
        issued = datetime.now(UTC)
        payload = {
            "sub": user_id,
            "did": device_id,
            "iat": issued,
            "exp": issued + DEVICE_LIFETIME,
            "typ": "device",
        }
        return jwt.encode(payload, self._secret, algorithm=ALGORITHM)

    def read_device(self, token: str) -> DeviceClaims | None:
        """The device a token names, or None for anything but a valid device token."""
        try:
            payload = jwt.decode(
                token, self._secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]}
            )
        except jwt.InvalidTokenError:
            return None
        if payload.get("typ") != "device" or not isinstance(payload.get("did"), str):
            return None
        return DeviceClaims(str(payload["sub"]), payload["did"])

    def mfa_ticket(self, user_id: str, device_id: str | None) -> str:
        issued = datetime.now(UTC)
        payload = {
            "sub": user_id,
            "iat": issued,
            "exp": issued + MFA_TICKET_LIFETIME,
            "jti": uuid.uuid4().hex,
            "did": device_id,
            "typ": "mfa",
        }
        return jwt.encode(payload, self._secret, algorithm=ALGORITHM)

    def read_mfa_ticket(self, token: str) -> MfaTicket | None:
        """The ticket's claims, or None for anything but a valid, unexpired MFA ticket."""
        payload = self._claims(token, "exp", "sub", "jti")
        if payload is None:
            return None
        device = payload.get("did")
        if payload.get("typ") != "mfa" or not (device is None or isinstance(device, str)):
            return None
        expires = datetime.fromtimestamp(int(payload["exp"]), UTC)
        return MfaTicket(str(payload["sub"]), str(payload["jti"]), device, expires)

    def _claims(self, token: str, *required: str) -> dict[str, Any] | None:
        """A signed token's claims, or None when it is not ours, expired, or lacks one."""
        try:
            payload: dict[str, Any] = jwt.decode(
                token, self._secret, algorithms=[ALGORITHM], options={"require": list(required)}
            )
        except jwt.InvalidTokenError:
            return None
        return payload

    def console_session(self, user_id: str, session_id: str, kind: str = "console") -> str:
        """A web page's sign-in cookie: the operator's console's, or (`kind` "shop") a
        customer's in the gift-card shop; each part reads only its own kind."""
        issued = datetime.now(UTC)
        payload = {
            "sub": user_id,
            "sid": session_id,
            "iat": issued,
            "exp": issued + CONSOLE_LIFETIME,
            "typ": kind,
        }
        return jwt.encode(payload, self._secret, algorithm=ALGORITHM)

    def read_console_session(self, token: str, kind: str = "console") -> ConsoleClaims | None:
        """The sign-in a console (or shop) cookie names, or None for anything but a valid,
        unexpired token of that kind (an API access token is not one)."""
        payload = self._claims(token, "exp", "sub", "sid")
        if payload is None or payload.get("typ") != kind or not isinstance(payload.get("sid"), str):
            return None
        return ConsoleClaims(str(payload["sub"]), payload["sid"])

    @staticmethod
    def new_refresh_token() -> str:
        return secrets.token_urlsafe(32)
