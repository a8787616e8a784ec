"""How the owner's list of tills tells online from offline: seen by the server lately."""

from datetime import UTC, datetime, timedelta

import pytest

from terminal.core.owner import Device

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("seen", "revoked", "online"),
    [
        (NOW - timedelta(seconds=30), False, True),
        (NOW - timedelta(minutes=3), False, True),
        (NOW - timedelta(minutes=3, seconds=1), False, False),  # switched off, or offline
        (None, False, False),  # never synced since pairing
        (NOW, True, False),  # revoked: whatever it tries, it cannot sync
    ],
)
def test_a_till_is_online_when_seen_in_the_last_three_minutes(seen, revoked, online):
    device = Device("Till 2", NOW - timedelta(days=1), seen, revoked, "dev1", None)
    assert device.online(NOW) is online
