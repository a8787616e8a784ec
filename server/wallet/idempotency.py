"""Idempotent mutations: the first answer to a key is stored and replayed for retries.

A record keeps an answer and nothing else: what an operation did lives in its own tables
(the ledger, the terminals' redemptions), where the code that needs it reads it.

The operation's answer is stored under a unique (scope, key) in the transaction that
made its changes. An operation that refuses (raises a DomainError) is rolled back whole and its
answer stored alone (with the rows the refusal keeps, such as its fraud decision), so a
refusal leaves nothing behind but itself; what it asks to be done once it is the stored
answer (`DomainError.then`, such as giving back a payment) runs after that commit. Two concurrent
requests with one key both may run, but only one commits: the other's transaction, ledger
changes and all, rolls back on the unique key and it replays the winner's answer. (When
what it collided with was another unique row, such as an offline event's redemption under
the same attempt key, it runs once more and sees it.) A key sent again with a different
body is refused with 409.

Callers read before the operation and write only inside it: a refusal rolls back the
whole transaction (cheaper than a savepoint around every operation, which costs two round
trips on the path every redemption takes).
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Callable
from typing import Any, Final, Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..db import insert_rows, utcnow
from ..errors import (
    DomainError,
    IdempotencyKeyInvalid,
    IdempotencyKeyMissing,
    IdempotencyKeyReused,
)
from .models import IdempotencyRecord

__all__ = ["NOT_READ", "Outcome", "Prior", "idempotent"]

Outcome = tuple[int, dict[str, Any]]
MAX_KEY_LENGTH = 200


class _NotRead(enum.Enum):
    NOT_READ = "not read"


NOT_READ: Final = _NotRead.NOT_READ
Prior = IdempotencyRecord | None | Literal[_NotRead.NOT_READ]
"""What a caller already read of a key's stored answer, with its other reads in one
query: the record, None (there is none yet), or NOT_READ (`idempotent` reads it)."""


def _fingerprint(request: Any) -> str:
    return hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()


def _replay(record: IdempotencyRecord, request_hash: str) -> Outcome:
    if record.request_hash != request_hash:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was used for a different request: send a new key "
            "for a new request, or the same body to retry.",
        )
    return record.status_code, record.response


def _find(session: Session, scope: str, key: str) -> IdempotencyRecord | None:
    return session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.scope == scope, IdempotencyRecord.key == key
        )
    )


def idempotent(
    session: Session,
    scope: str,
    key: str | None,
    request: Any,
    operation: Callable[[], Outcome],
    prior: Prior = NOT_READ,
) -> Outcome:
    """Run `operation` once per (scope, key) and commit; replay the stored answer after."""
    if not key:
        raise IdempotencyKeyMissing(
            "Send an Idempotency-Key header (a new random value, such as a UUID, "
            "per operation; the same value when retrying it).",
        )
    if len(key) > MAX_KEY_LENGTH:
        raise IdempotencyKeyInvalid(
            f"Use an Idempotency-Key of at most {MAX_KEY_LENGTH} characters.",
        )
    return _once(session, scope, key, _fingerprint(request), operation, prior, again=True)


def _once(
    session: Session,
    scope: str,
    key: str,
    request_hash: str,
    operation: Callable[[], Outcome],
    prior: Prior,
    *,
    again: bool,
) -> Outcome:
    existing = _find(session, scope, key) if prior is NOT_READ else prior
    if existing is not None:
        session.rollback()
        return _replay(existing, request_hash)
    refused: DomainError | None = None
    try:
        status, body = operation()
    except DomainError as refusal:
        status, body, refused = refusal.status, refusal.body(), refusal
        session.rollback()
        session.add_all(refusal.kept)
    try:
        _remember(session, scope, key, request_hash, status, body)
        session.commit()
    except IntegrityError:
        session.rollback()
        winner = _find(session, scope, key)
        if winner is not None:
            return _replay(winner, request_hash)
        if not again:
            raise
        # Another unique row won (not this key's answer): run again, now seeing it.
        return _once(session, scope, key, request_hash, operation, NOT_READ, again=False)
    if refused is not None:  # this refusal is the answer and its rows are in: now act
        for action in refused.then:
            action(session)
    return status, body


def _remember(
    session: Session, scope: str, key: str, request_hash: str, status: int, body: Any
) -> None:
    """Store the answer, with the operation's commit (a key another request stored first
    fails the commit with an `IntegrityError`, on SQLite at once)."""
    row = {
        "scope": scope,
        "key": key,
        "request_hash": request_hash,
        "status_code": status,
        "response": body,
        "created_at": utcnow(),
    }
    insert_rows(session, IdempotencyRecord, [row], later=True)
