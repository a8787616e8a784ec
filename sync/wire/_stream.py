"""What the terminals' event stream (`GET /sync/stream`) says."""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = ["CHANGES_WAITING", "ChangesWaiting"]

CHANGES_WAITING = "changes"
"""The SSE event name of `ChangesWaiting`; its id is the same position."""


class ChangesWaiting(BaseModel):
    """Changes are waiting: pull now. Sent when the business's log moves past the position
    the terminal last heard of (its `Last-Event-ID`, which may be its pull cursor)."""

    position: int = Field(ge=0, description="the business's log position now")
