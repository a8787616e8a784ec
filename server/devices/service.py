"""Pairing a terminal with a business: the owner's one-time code, and the terminal's
credentials for it. The refusals are domain errors (`server.errors`)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sync.wire import (
    DeviceCredentials,
    OfflineLimitsBody,
    PairingCodePublic,
    PairRequest,
    public_key_from_text,
)

from ..billing.subscriptions import require_open
from ..directory.models import Branch
from ..errors import BranchNotFound, FieldInvalid, InvalidDeviceKey, InvalidPairingCode
from ..wallet.ledger import Origin
from .models import Device, OfflineLimits, PairingCode

__all__ = [
    "PAIRING_LIFETIME",
    "create_pairing_code",
    "digest",
    "origin_of",
    "pair",
    "set_offline_limits",
]

PAIRING_LIFETIME = timedelta(minutes=15)
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread


def digest(text: str) -> str:
    """How codes and device secrets are stored: never as given."""
    return hashlib.sha256(text.encode()).hexdigest()


def _normal(code: str) -> str:
    return code.replace("-", "").replace(" ", "").upper()


def create_pairing_code(
    session: Session, business_id: str, branch_id: str | None = None
) -> PairingCodePublic:
    """A new one-time code for pairing a terminal with the business (and one of its
    branches: the terminal's receipts name it); none for a closed business."""
    require_open(session, business_id, "it pairs no new tills. Tills paired before still sync.")
    if branch_id is not None:
        branch = session.get(Branch, branch_id)
        if branch is None or branch.business_id != business_id:
            raise BranchNotFound(
                "This business has no branch with that id: pick one of its branches, or "
                "leave branch_id out."
            )
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    expires = datetime.now(UTC) + PAIRING_LIFETIME
    session.add(
        PairingCode(
            business_id=business_id, branch_id=branch_id, code_hash=digest(raw), expires_at=expires
        )
    )
    code = f"{raw[:4]}-{raw[4:]}"
    return PairingCodePublic(
        code=code, qr_text=f"TPPAIR:{code}", expires_at=expires, branch_id=branch_id
    )


def pair(session: Session, request: PairRequest) -> DeviceCredentials:
    """Pair a terminal with the business whose unused, unexpired code it sends."""
    try:
        public_key_from_text(request.public_key)
    except ValueError:
        raise InvalidDeviceKey(
            "public_key must be the base64 of a raw 32-byte Ed25519 public key."
        ) from None
    code = (
        session.query(PairingCode)
        .filter_by(code_hash=digest(_normal(request.code.removeprefix("TPPAIR:"))))
        .one_or_none()
    )
    now = datetime.now(UTC)
    if code is None or code.used_at is not None or code.expires_at <= now:
        raise InvalidPairingCode(
            "That code is wrong, used or expired: ask the owner for a new one in "
            "the vendor screens, and type it again."
        )
    code.used_at = now
    secret = secrets.token_urlsafe(32)
    device = Device(
        business_id=code.business_id,
        branch_id=code.branch_id,
        name=request.name,
        public_key=request.public_key,
        secret_hash=digest(secret),
    )
    session.add(device)
    session.flush()
    return DeviceCredentials(
        device_id=device.id,
        business_id=device.business_id,
        secret=secret,
        branch_id=device.branch_id,
    )


def set_offline_limits(session: Session, business_id: str, limits: OfflineLimitsBody) -> None:
    """Set the business's offline limits. The first time, two owners' screens may send them
    at once: the one whose insert loses to the other's updates the row instead, so both
    succeed and the last one stands (as it would one after the other). Limits that do not
    nest (one redemption above one card's) are refused, naming the smaller."""
    out_of_order = limits.contradiction()
    if out_of_order is not None:
        smaller, larger = out_of_order
        raise FieldInvalid(
            smaller,
            f"{smaller} ({getattr(limits, smaller)}) cannot be more than {larger} "
            f"({getattr(limits, larger)}): lower {smaller} or raise {larger}.",
        )
    values = limits.model_dump()
    row = session.get(OfflineLimits, business_id)
    if row is None:
        try:
            with session.begin_nested():
                session.add(OfflineLimits(business_id=business_id, **values))
            return
        except IntegrityError:
            row = session.get(OfflineLimits, business_id, populate_existing=True)
            if row is None:  # not a duplicate: something else was wrong
                raise
    for name, value in values.items():  # through the ORM: the change is recorded
        setattr(row, name, value)


def origin_of(device: Device, cashier_id: str | None) -> Origin:
    """Where a terminal's sale happened: its branch, itself, and the cashier it says was
    signed in (as the terminal said; None when no one was)."""
    return Origin(branch_id=device.branch_id, device_id=device.id, cashier_id=cashier_id)
