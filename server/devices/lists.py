"""The owner's lists of terminals and incidents, a page at a time: each incident with the
till and the pushed event that raised it, and the business's offline shortfall."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sync.wire import IncidentKind

from ..db import count_of
from .models import Device, Incident, SyncEvent

__all__ = ["IncidentRow", "incidents", "shortfalls", "terminals"]


def terminals(
    session: Session,
    business_id: str,
    revoked: bool | None,
    branch_id: str | None,
    offset: int,
    limit: int,
) -> tuple[list[Device], int]:
    """The business's paired terminals, oldest first, with the total."""
    query = select(Device).where(Device.business_id == business_id)
    if revoked is not None:
        query = query.where(
            Device.revoked_at.is_not(None) if revoked else Device.revoked_at.is_(None)
        )
    if branch_id is not None:
        query = query.where(Device.branch_id == branch_id)
    total = count_of(session, query)
    page = session.scalars(query.order_by(Device.created_at, Device.id).offset(offset).limit(limit))
    return list(page), total


@dataclass(frozen=True)
class IncidentRow:
    incident: Incident
    device: Device | None  # None for an incident no terminal's event raised


def incidents(
    session: Session,
    business_id: str,
    kind: IncidentKind | None,
    resolved: bool | None,
    device_id: str | None,
    offset: int,
    limit: int,
) -> tuple[list[IncidentRow], int]:
    """The business's incidents, oldest first, each with the terminal whose pushed event
    raised it; with the total."""
    query = (
        select(Incident, Device)
        .outerjoin(SyncEvent, SyncEvent.id == Incident.event_id)
        .outerjoin(Device, Device.id == SyncEvent.device_id)
        .where(Incident.business_id == business_id)
    )
    if kind is not None:
        query = query.where(Incident.kind == kind)
    if resolved is not None:
        query = query.where(
            Incident.resolved_at.is_not(None) if resolved else Incident.resolved_at.is_(None)
        )
    if device_id is not None:
        query = query.where(SyncEvent.device_id == device_id)
    total = count_of(session, query)
    rows = session.execute(
        query.order_by(Incident.created_at, Incident.id).offset(offset).limit(limit)
    ).all()
    return [IncidentRow(incident, device) for incident, device in rows], total


def shortfalls(session: Session, business_id: str) -> dict[str, int]:
    """What offline overspends cost the business, per currency, in minor units: what its
    tills together let customers spend beyond their cards' balances."""
    rows = session.execute(
        select(Incident.currency, func.sum(Incident.amount_minor))
        .where(
            Incident.business_id == business_id,
            Incident.kind == IncidentKind.OFFLINE_OVERSPEND,
        )
        .group_by(Incident.currency)
        .order_by(Incident.currency)
    ).all()
    return {currency: int(total or 0) for currency, total in rows}
