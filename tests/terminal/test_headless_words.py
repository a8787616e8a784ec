"""What the command-line till says about when it last heard from the server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from terminal.core.headless import last_sync


def test_the_last_sync_is_said_in_local_time_not_as_a_timestamp():
    synced = datetime(2026, 12, 1, 13, 32, 11, 273_208, tzinfo=UTC)
    local = synced.astimezone()
    assert last_sync(synced.isoformat(), now=synced + timedelta(minutes=5)) == (
        f"{local:%H:%M} today"
    )
    assert last_sync(synced.isoformat(), now=synced + timedelta(days=2)) == (
        f"{local.day} {local:%b %H:%M}"
    )
    assert last_sync(None) == "never"
    assert "T" not in last_sync(synced.isoformat())  # no ISO timestamp
