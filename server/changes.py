"""Recording changes for the terminals' pull (see `server.devices.models.Change`)."""

from __future__ import annotations

from sqlalchemy.orm import Session

__all__ = ["record_change"]


def record_change(session: Session, business_id: str, entity: str, entity_id: str) -> None:
    """Note, in the caller's transaction, that a cached entity changed."""
    from .devices.models import Change  # the feed's table; imported late to avoid a cycle

    session.add(Change(business_id=business_id, entity=entity, entity_id=entity_id))
