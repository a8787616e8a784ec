"""The line every screen shows: online or offline, last sync, events waiting, the camera;
and, under the title of the scan and vendor screens, a lasting notice while the till was
revoked or the business is suspended.

Names, the camera's and the server's words are drawn as written, never read as markup: a
name like "Sam [/b]" is a name."""

from __future__ import annotations

from datetime import datetime

from textual.content import Content
from textual.widgets import Static

from ..core.revocation import REVOKED
from ..core.session import Status
from ..core.staff import Person
from ..core.suspension import suspension
from .base import tillpoint

REVOKED_NOTICE = (
    f"{REVOKED}. Until then it cannot sync, and the server refuses what it sends; what it "
    "approved offline and has not synced stays on it."
)


def describe(
    status: Status,
    camera: str,
    now: datetime,
    person: Person | None = None,
    *,
    revoked: bool = False,
) -> str:
    who = f"{person.name} ({person.role}) · " if person is not None else ""
    waiting = "nothing waiting" if not status.waiting else f"{status.waiting} waiting to sync"
    if revoked:  # neither ONLINE nor a time since the last sync: neither helps now
        return f"{REVOKED} · {who}{waiting} · {camera}"
    mode = {None: "CONNECTING…", True: "ONLINE", False: "OFFLINE"}[status.online]
    if status.last_sync is None:
        synced = "never synced"
    else:
        minutes = int((now - status.last_sync).total_seconds() // 60)
        synced = "synced just now" if minutes < 1 else f"synced {minutes} min ago"
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
        line = describe(
            session.status(),
            app.camera_text,
            session.clock(),
            session.signed_in,
            revoked=app.revoked,
        )
        self.update(Content(line))


class SuspensionNotice(Static):
    """Says, while this till is revoked (its last sync was refused for it) or the business
    is suspended (as last synced), what that means and what to do; hidden otherwise.
    Refreshes itself every second, and at once after a sync (the app calls
    `refresh_notice`)."""

    DEFAULT_CSS = """
    SuspensionNotice { height: auto; padding: 0 1; background: $warning; color: $text; }
    """

    def on_mount(self) -> None:
        self.refresh_notice()
        self.set_interval(1.0, self.refresh_notice)

    def refresh_notice(self) -> None:
        app = tillpoint(self)
        found = suspension(app.session.store)
        notices = [found.notice] if found is not None else []
        if app.revoked:
            notices.insert(0, REVOKED_NOTICE)
        self.display = bool(notices)
        self.update(Content("\n".join(notices)))
