"""A vendor's branch edit pushed by a terminal (name, address, opening hours), perhaps made
offline. Like a deal edit it applies only to the version it was made on: an edit made on an
older version is refused and reported to the owner as an incident, never dropped. Applied,
the branch's change is in the event log (branches are `Recorded`), so every other terminal
of the business pulls it.

The handler answers every refusal itself rather than raising: reconcile runs it in a
savepoint of its own and records the answer, and it writes nothing before it has checked
everything (the conflict's incident aside, which is the point of it)."""

from __future__ import annotations

from typing import Protocol

from pydantic import ValidationError
from sqlalchemy.orm import Session

from sync.wire import BranchEdit, EventResult, EventStatus, IncidentKind, TerminalEvent

from ..billing.subscriptions import standing
from ..directory.models import Branch
from .models import Device, Incident

__all__ = ["apply_branch_edit"]


class _Pushing(Protocol):
    """What the handler needs of reconcile's batch: the device that pushed."""

    device: Device


def _refused(event: TerminalEvent, detail: str) -> EventResult:
    return EventResult(event.id, EventStatus.REJECTED, detail)


def _problem(error: ValidationError) -> str:
    """The first thing wrong with the payload, naming the field."""
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"payload.{where}: {first['msg']}"


def apply_branch_edit(session: Session, batch: _Pushing, event: TerminalEvent) -> EventResult:
    device = batch.device
    try:
        edit = BranchEdit.model_validate(event.payload)
    except ValidationError as exc:
        return _refused(event, _problem(exc))
    branch = session.get(Branch, edit.branch_id)
    if branch is None or branch.business_id != device.business_id:
        return _refused(event, "no branch of this business has that id")
    allowed = standing(session, device.business_id)
    if not allowed.editing:
        return _refused(event, f"listing edits are paused: {allowed.reason}")
    if edit.base_version != branch.version:
        detail = (
            f"An edit of the branch '{branch.name}' made at terminal {device.name} was not "
            f"applied: it was made on version {edit.base_version}, but the branch is at "
            f"version {branch.version}. {_wanted(edit)}"
        )
        session.add(
            Incident(
                business_id=device.business_id,
                kind=IncidentKind.EDIT_CONFLICT,
                subject_id=branch.id,
                event_id=event.id,
                amount_minor=0,
                currency=branch.business.currency,
                detail=detail,
            )
        )
        return _refused(event, f"conflict: {detail}")
    if edit.name is not None:
        branch.name = edit.name
    if edit.address is not None:
        branch.address = edit.address
    if edit.opening_hours is not None:
        branch.opening_hours = {
            day.value: [period.model_dump() for period in periods]
            for day, periods in edit.opening_hours.items()
        }
    return EventResult(event.id, EventStatus.APPLIED)


def _wanted(edit: BranchEdit) -> str:
    """What the refused edit asked for, so the owner can make it again."""
    parts = []
    if edit.name is not None:
        parts.append(f"the name '{edit.name}'")
    if edit.address is not None:
        parts.append(f"the address '{edit.address}'")
    if edit.opening_hours is not None:
        parts.append("new opening hours")
    return f"The edit wanted {' and '.join(parts) or 'no change'}."
