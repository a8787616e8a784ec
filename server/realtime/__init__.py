"""Real time (DESIGN.md §14): Server-Sent Events for terminals and apps, read from the event
log and woken by commits in any worker (`wakeups`). Polling stays the fallback."""

from .router import router
from .wakeups import Listeners, MemoryWakeups, RedisWakeups, Wakeups, open_wakeups

__all__ = ["Listeners", "MemoryWakeups", "RedisWakeups", "Wakeups", "open_wakeups", "router"]
