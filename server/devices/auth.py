"""How a terminal proves itself on every call: `Authorization: Device <id>.<secret>`.
Shared by the routes of `devices` and the terminals' event stream (`realtime`)."""

from __future__ import annotations

import secrets

from sqlalchemy.orm import Session

from ..problems import Problem
from . import service
from .models import Device

__all__ = ["device_from_header"]


def device_from_header(session: Session, authorization: str | None) -> Device:
    """The paired, unrevoked terminal the header names; else a 401 or 403 problem."""
    scheme, _, credentials = (authorization or "").partition(" ")
    device_id, _, secret = credentials.partition(".")
    device = session.get(Device, device_id) if scheme == "Device" and secret else None
    if device is None or not secrets.compare_digest(device.secret_hash, service.digest(secret)):
        raise Problem(
            401,
            "unauthorized-device",
            "Terminal not recognised",
            "Send 'Authorization: Device <device_id>.<secret>' from pairing; if the "
            "terminal was reset, pair it again.",
            headers={"WWW-Authenticate": "Device"},
        )
    if device.revoked_at is not None:
        raise Problem(
            403,
            "device-revoked",
            "Terminal revoked",
            "The owner revoked this terminal: it can no longer sync. Pair it again "
            "with a new code if that was a mistake.",
        )
    return device
