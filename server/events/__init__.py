"""The event log (DESIGN.md §11): what changed, in commit order per business.

Writers change models as usual; `Recorded` models append their own events (see
`recording`). Readers resume after a position (see `reading`)."""

from .models import Event, EventCounter, EventEntity, EventKind
from .reading import events_after, head_position, mark_at, mark_of
from .recording import Recorded, UnrecordedChangeError, add_with_commit, record

__all__ = [
    "Event",
    "EventCounter",
    "EventEntity",
    "EventKind",
    "Recorded",
    "UnrecordedChangeError",
    "add_with_commit",
    "events_after",
    "head_position",
    "mark_at",
    "mark_of",
    "record",
]
