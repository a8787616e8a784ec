"""What a terminal redeemed under each attempt key, online or offline: the redemption itself,
read by voids and by the checks that keep an online attempt and its offline event from
both being applied. Idempotency records keep only the answers to requests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import insert_rows
from ..errors import AttemptWithdrawn, RedeemedOffline
from .models import RedeemedItem, TillRedemption, closes_itself

__all__ = [
    "Noted",
    "find",
    "insert",
    "record",
    "refuse_if_recorded",
    "refuse_if_recorded_offline",
]


def find(session: Session, device_id: str, attempt_key: str) -> TillRedemption | None:
    return session.scalar(
        select(TillRedemption).where(
            TillRedemption.device_id == device_id, TillRedemption.attempt_key == attempt_key
        )
    )


def refuse_if_recorded_offline(session: Session, device_id: str, attempt_key: str) -> None:
    """An online attempt that arrives after the terminal recorded the sale offline (it got no
    answer in time) is refused: the sale is already in the ledger."""
    refuse_if_recorded(find(session, device_id, attempt_key))


def refuse_if_recorded(recorded: TillRedemption | None) -> None:
    """`refuse_if_recorded_offline`, given what the terminal recorded under the attempt key
    (read with a request's other reads)."""
    if recorded is not None and recorded.withdrawn:
        raise AttemptWithdrawn(
            f"The terminal withdrew this attempt (event {recorded.event_id}): its answer "
            "had been lost and the till did not approve it, so nothing was taken and "
            "nothing is. Ask again with a new Idempotency-Key if the sale still stands.",
            event_id=recorded.event_id,
        )
    if recorded is not None:
        raise RedeemedOffline(
            f"The terminal recorded this sale offline as event {recorded.event_id}: it is in "
            "the ledger already, and was not redeemed again.",
            event_id=recorded.event_id,
        )


def record(
    session: Session,
    device_id: str,
    attempt_key: str,
    item: RedeemedItem,
    subject_id: str,
    amount_minor: int,
    *,
    operation_id: str | None = None,
    event_id: str | None = None,
    made_at: datetime | None = None,
    cashier_id: str | None = None,
) -> None:
    """Keep a redemption under its attempt key, written with the transaction's commit
    (nothing reads it before; a second one for the key cannot commit)."""
    row = {
        "device_id": device_id,
        "attempt_key": attempt_key,
        "item": item,
        "subject_id": subject_id,
        "amount_minor": amount_minor,
        "operation_id": operation_id,
        "event_id": event_id,
        "made_at": made_at or datetime.now(UTC),
        "cashier_id": cashier_id,
    }
    insert_rows(session, TillRedemption, [row], later=True)


@dataclass
class Noted:
    """A redemption a pushed batch keeps, written with the batch's others by `insert`
    (its fields are `TillRedemption`'s columns)."""

    device_id: str
    attempt_key: str
    item: RedeemedItem
    subject_id: str
    amount_minor: int
    operation_id: str | None
    event_id: str
    made_at: datetime
    voided_by: str | None = None
    cashier_id: str | None = None  # who the terminal says was signed in

    @property
    def withdrawn(self) -> bool:
        """As `TillRedemption.withdrawn`."""
        return closes_itself(self.event_id, self.voided_by)


def insert(session: Session, kept: Sequence[Noted]) -> None:
    """Write `kept` in one statement; a second redemption for an attempt key cannot
    commit."""
    # vars(), not asdict(): asdict deep-copies every field, a tenth of a push's CPU.
    insert_rows(session, TillRedemption, [dict(vars(k)) for k in kept])
