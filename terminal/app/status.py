"""The line every screen shows: online or offline, last sync, events waiting, the camera;
and, while the business is suspended, a notice saying so."""

from __future__ import annotations

from datetime import datetime

from textual.widgets import Static

from ..core.session import Status
from ..core.staff import Person
from ..core.suspension import suspension
from .base import tillpoint


def describe(status: Status, camera: str, now: datetime, person: Person | None = None) -> str:
    mode = {None: "CONNECTING…", True: "ONLINE", False: "OFFLINE"}[status.online]
    if status.last_sync is None:
        synced = "never synced"
    else:
        minutes = int((now - status.last_sync).total_seconds() // 60)
        synced = "synced just now" if minutes < 1 else f"synced {minutes} min ago"
    waiting = "nothing waiting" if not status.waiting else f"{status.waiting} waiting to sync"
    who = f"{person.name} ({person.role}) · " if person is not None else ""
    return f"{who}{mode} · {synced} · {waiting} · {camera}"


class StatusLine(Static):
    """Refreshes itself every second from the session; reads no widget state."""

    DEFAULT_CSS = """
    StatusLine { dock: top; height: 1; padding: 0 1; background: $panel; }
    """

    def on_mount(self) -> None:
        self.refresh_status()
        self.set_interval(1.0, self.refresh_status)

    def refresh_status(self) -> None:
        app = tillpoint(self)
        session = app.session
        self.update(describe(session.status(), app.camera_text, session.clock(), session.signed_in))


class SuspensionNotice(Static):
    """Says, while the business is suspended (as last synced), what is paused and what still
    works; hidden otherwise. Refreshes itself every second from the store, and at once after
    a sync (the app calls `refresh_notice`)."""

    DEFAULT_CSS = """
    SuspensionNotice { height: auto; padding: 0 1; background: $warning; color: $text; }
    """

    def on_mount(self) -> None:
        self.refresh_notice()
        self.set_interval(1.0, self.refresh_notice)

    def refresh_notice(self) -> None:
        found = suspension(tillpoint(self).session.store)
        self.display = found is not None
        self.update("" if found is None else found.notice)
