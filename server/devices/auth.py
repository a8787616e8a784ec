"""How a terminal proves itself on every call: `Authorization: Device <id>.<secret>`.
Shared by the routes of `devices` and the terminals' event stream (`realtime`)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace

from sqlalchemy import Executable, and_, bindparam, select
from sqlalchemy.orm import Session

from ..deps import with_card
from ..directory.models import Business
from ..problems import Problem
from ..wallet.idempotency import NOT_READ, Prior
from ..wallet.models import GiftCard, IdempotencyRecord, IssuedToken
from ..wallet.tokens import PresentedCode
from . import service
from .models import Device, TillRedemption

__all__ = [
    "TerminalTill",
    "device_from_header",
    "paired_device",
    "revoked",
    "scope_of",
    "terminal_till",
]


def _credentials(authorization: str | None) -> tuple[str, str] | None:
    scheme, _, credentials = (authorization or "").partition(" ")
    device_id, _, secret = credentials.partition(".")
    return (device_id, secret) if scheme == "Device" and secret else None


def _unrecognised() -> Problem:
    return Problem(
        401,
        "unauthorized-device",
        "Terminal not recognised",
        "Send 'Authorization: Device <device_id>.<secret>' from pairing; if the "
        "terminal was reset, pair it again.",
        headers={"WWW-Authenticate": "Device"},
    )


def revoked() -> Problem:
    """The answer to every call of a terminal its owner revoked."""
    return Problem(
        403,
        "device-revoked",
        "Terminal revoked",
        "The owner revoked this terminal: it can no longer sync. Pair it again "
        "with a new code if that was a mistake.",
    )


def _paired(device: Device | None, secret: str) -> Device:
    """`device` if `secret` is its own, revoked or not; else a 401 problem."""
    if device is None or not secrets.compare_digest(device.secret_hash, service.digest(secret)):
        raise _unrecognised()
    return device


def _checked(device: Device | None, secret: str) -> Device:
    """`device` if `secret` is its own and it was not revoked; else a 401 or 403 problem."""
    device = _paired(device, secret)
    if device.revoked_at is not None:
        raise revoked()
    return device


def paired_device(session: Session, authorization: str | None) -> Device:
    """The paired terminal the header names, even one its owner revoked (whose push is
    refused, but told to the owner first); else a 401 problem."""
    credentials = _credentials(authorization)
    if credentials is None:
        raise _unrecognised()
    device_id, secret = credentials
    return _paired(session.get(Device, device_id), secret)


def device_from_header(session: Session, authorization: str | None) -> Device:
    """The paired, unrevoked terminal the header names; else a 401 or 403 problem."""
    device = paired_device(session, authorization)
    if device.revoked_at is not None:
        raise revoked()
    return device


def scope_of(device_id: str) -> str:
    """Where a terminal's Idempotency-Keys are kept: its own."""
    return f"device:{device_id}"


@dataclass(frozen=True)
class TerminalTill:
    """A terminal at its business's till: the device, the business, what its
    Idempotency-Key already answered (`Prior`), what it recorded under that key (its
    offline event's redemption, or None), the code presented with its revocation read,
    and the card it names (None if there is none; kept here so that the session keeps
    it loaded)."""

    device: Device
    business: Business
    prior: Prior
    recorded: TillRedemption | None
    code: PresentedCode
    card: GiftCard | None


def _terminal_till_query(*, card: bool) -> Executable:
    """`terminal_till`'s one query, built once: its values are parameters."""
    query = (
        select(Device, Business, IdempotencyRecord, TillRedemption, IssuedToken.revoked_at)
        .select_from(Device)
        .join(Business, Business.id == Device.business_id)
        .outerjoin(
            IdempotencyRecord,
            and_(
                IdempotencyRecord.scope == bindparam("scope"),
                IdempotencyRecord.key == bindparam("key"),
            ),
        )
        .outerjoin(
            TillRedemption,
            and_(
                TillRedemption.device_id == Device.id,
                TillRedemption.attempt_key == bindparam("key"),
            ),
        )
        .outerjoin(
            IssuedToken,
            and_(
                IssuedToken.business_id == Device.business_id,
                IssuedToken.token_id == bindparam("token_id"),
            ),
        )
        .where(Device.id == bindparam("device_id"))
    )
    return with_card(query, bindparam("card_id")) if card else query


_TERMINAL_TILL, _TERMINAL_TILL_WITH_CARD = (
    _terminal_till_query(card=False),
    _terminal_till_query(card=True),
)


def terminal_till(
    session: Session, authorization: str | None, idempotency_key: str | None, code: PresentedCode
) -> TerminalTill:
    """`device_from_header`, its business, the key's stored answer and its recorded
    redemption, the code's revocation and the card it names (with its ledger account, so
    the sale's `session.get` sends nothing), in one query: a terminal asks them all on
    every sale. `code` was read first (no database), so its card is known."""
    credentials = _credentials(authorization)
    if credentials is None:
        raise _unrecognised()
    device_id, secret = credentials
    card_id = code.subject_id
    found = session.execute(
        _TERMINAL_TILL_WITH_CARD if card_id is not None else _TERMINAL_TILL,
        {
            "device_id": device_id,
            "scope": scope_of(device_id),
            "key": idempotency_key,
            "token_id": code.token_id,
            "card_id": card_id,
        },
    ).first()
    if found is None:
        raise _unrecognised()
    device, business, record, recorded, revoked_at = found[:5]
    return TerminalTill(
        _checked(device, secret),
        business,
        record if idempotency_key else NOT_READ,
        recorded,
        replace(code, revoked=revoked_at is not None),
        found._mapping[GiftCard] if card_id is not None else None,
    )
