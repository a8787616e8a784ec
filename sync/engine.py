"""Push then pull: what `tillpoint sync` and the terminal's background sync both run.

The engine knows the outbox only through the `Outbox` protocol, so `sync/` stays free of
the terminal's storage."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from .allocation import cyclic_gc_paused
from .client import ChangeStream, ServerTime, SyncClient, SyncClientError
from .wire import ChangesPage, EventResult, EventStatus, SnapshotPage, TerminalEvent

__all__ = [
    "Listening",
    "Outbox",
    "PushSummary",
    "pull_changes",
    "push_outbox",
    "sync_once",
    "take_snapshot",
]

BATCH = 500  # events a push sends at once: the server's most (PushRequest)


class Outbox(Protocol):
    """The terminal's side of sync: its outbox to push, its cache to update."""

    def pending(self, limit: int = BATCH) -> list[TerminalEvent]: ...
    def pending_count(self) -> int: ...
    def acknowledge(self, results: list[EventResult]) -> None: ...
    def cursor(self) -> int | None:
        """Where the last pull ended; None before the first sync."""

    def cursor_mark(self) -> str | None:
        """The mark of the change at the cursor, as the server gave it with the cursor."""

    def apply_changes(
        self,
        page: ChangesPage | SnapshotPage,
        *,
        final: bool = True,
        replace: bool = False,
        server_time: ServerTime | None = None,
    ) -> None:
        """Apply a page; with `final`, also move the cursor to the page's and note the sync,
        by this machine's clock and by the server's (`server_time`, the page's answer's;
        None when it had no `Date`). With `replace` (a fresh snapshot's first page), first
        drop what the cache held and the cursor, in the same step: until the snapshot's last
        page is in, the next sync starts it anew."""


@dataclass
class PushSummary:
    """What one sync did. `incidents` counts the events whose answer reports an incident:
    `applied_with_incident`, and a `duplicate` of one (its first answer was lost), which
    also counts among `duplicates`."""

    pulled: int = 0
    cursor: int = 0
    pushed: int = 0
    applied: int = 0
    duplicates: int = 0
    incidents: int = 0
    rejected: int = 0
    incident_details: list[str] = field(default_factory=list)
    rejections: list[str] = field(default_factory=list)
    # The server's log was behind this terminal's cursor (its database restored from an
    # older backup): the cache was replaced by a fresh snapshot.
    started_over: bool = False

    def count(self, result: EventResult) -> None:
        self.pushed += 1
        if result.status is EventStatus.APPLIED:
            self.applied += 1
        elif result.status is EventStatus.DUPLICATE:
            self.duplicates += 1
            if result.incident:
                self.incidents += 1
                self.incident_details.append(result.incident)
        elif result.status is EventStatus.APPLIED_WITH_INCIDENT:
            self.incidents += 1
            self.incident_details.append(result.detail)
        else:
            self.rejected += 1
            self.rejections.append(f"{result.id}: {result.detail}")


def push_outbox(
    client: SyncClient,
    outbox: Outbox,
    progress: Callable[[int, int], None] | None = None,
    summary: PushSummary | None = None,
) -> PushSummary:
    """Send the outbox in batches, oldest first; each event leaves the outbox only once the
    server has answered for it. Counted into `summary` when given, so that what went
    through is known even when a later batch (or the pull) fails."""
    summary = PushSummary() if summary is None else summary
    total = outbox.pending_count()
    while batch := outbox.pending(BATCH):
        results = client.push(batch)
        outbox.acknowledge(results)
        for result in results:
            summary.count(result)
        if progress is not None:
            progress(summary.pushed, total)
    return summary


def _count(page: ChangesPage | SnapshotPage) -> int:
    kinds = (page.cards, page.vouchers, page.deals, page.products, page.branches)
    return sum(len(items) for items in kinds) + len(page.revoked_token_ids)


def take_snapshot(
    client: SyncClient, outbox: Outbox, summary: PushSummary, *, replace: bool = False
) -> None:
    """The first sync: the current state in pages; the cursor moves only with the last one,
    so an interrupted snapshot starts again (pages are upserts) instead of leaving a hole.
    With `replace`, the first page replaces what the cache held (a fresh start).

    The next page is fetched while this one is written (the server reads its rows while
    the terminal stores the last ones), and the cyclic garbage collector waits until the
    end: pages are freed as they go, and collecting 100,000 cards' models again and again
    cost as much as reading them (sync/allocation.py)."""
    with cyclic_gc_paused(), ThreadPoolExecutor(1, thread_name_prefix="snapshot") as fetching:
        page = client.snapshot(None, None)
        cursor = page.cursor
        while True:
            following = (
                fetching.submit(client.snapshot, page.next_after, cursor)
                if page.next_after is not None
                else None
            )
            outbox.apply_changes(
                page, final=following is None, replace=replace, server_time=client.server_time
            )
            replace = False
            summary.pulled += _count(page)
            if following is None:
                summary.cursor = cursor
                return
            page = following.result()


def pull_changes(client: SyncClient, outbox: Outbox, summary: PushSummary) -> None:
    """Pull pages of changes until the server has no more; each page is applied (and the
    cursor moved) in one step, so an interrupted pull resumes where it stopped.

    A cursor past the server's log (its database restored from an older backup) would skip
    the changes given its positions anew, and keep cards that no longer exist; so would a
    cursor the restored log has grown past since, which its mark (the change the terminal
    read there) tells. The server says so, and the terminal starts again from a fresh
    snapshot that replaces its cache."""
    cursor = outbox.cursor()
    if cursor is None:
        take_snapshot(client, outbox, summary)
        cursor = summary.cursor
    mark = outbox.cursor_mark()
    while True:
        page = client.pull(cursor, mark=mark)
        if page.cursor_ahead:
            if summary.started_over:  # behind the snapshot just taken: the next sync
                return  # starts over again, rather than this one going round
            summary.started_over = True
            take_snapshot(client, outbox, summary, replace=True)
            cursor, mark = summary.cursor, outbox.cursor_mark()
            continue
        outbox.apply_changes(page, server_time=client.server_time)
        summary.pulled += _count(page)
        cursor, mark = page.cursor, page.cursor_mark
        summary.cursor = cursor
        if not page.more:
            return


def sync_once(
    client: SyncClient,
    outbox: Outbox,
    progress: Callable[[int, int], None] | None = None,
    summary: PushSummary | None = None,
) -> PushSummary:
    """Push first, so what this terminal did is in what it then pulls; then pull. Counted
    into `summary` when given: what went through, should a call fail part-way."""
    summary = push_outbox(client, outbox, progress, summary)
    pull_changes(client, outbox, summary)
    return summary


class Listening:
    """Hears the server's stream (`SyncClient.open_stream`) and calls `on_change` each time
    changes wait, until `stop()`. Run `run()` in a thread of its own, with a client of its
    own. When the stream drops or the server ends it, it connects again after `retry`
    seconds, resuming after the cursor: the caller's timer keeps syncing meanwhile."""

    def __init__(
        self,
        client: SyncClient,
        cursor: Callable[[], int | None],
        on_change: Callable[[], None],
        retry: float = 3.0,
    ) -> None:
        self._client = client
        self._cursor = cursor
        self._on_change = on_change
        self._retry = retry
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._stream: ChangeStream | None = None

    @property
    def connected(self) -> bool:
        with self._lock:
            return self._stream is not None

    def run(self) -> None:
        while not self._stopped.is_set():
            try:
                stream = self._client.open_stream(self._cursor())
            except SyncClientError:
                self._stopped.wait(self._retry)
                continue
            with self._lock:
                self._stream = stream
            if self._stopped.is_set():
                stream.close()
            try:
                for _ in stream:
                    self._on_change()
            except SyncClientError:
                pass  # dropped: the timer covers the gap until it is back
            finally:
                with self._lock:
                    self._stream = None
            self._stopped.wait(self._retry)

    def stop(self) -> None:
        """End `run()` now (from any thread)."""
        self._stopped.set()
        with self._lock:
            stream = self._stream
        if stream is not None:
            stream.close()
