"""The scan screen of a till that heard, before it was restarted, that the owner revoked it:
offline, it approves nothing, and says why in the core's words."""

from __future__ import annotations

import pytest

from terminal.core.revocation import REVOKED
from tests.terminal.test_roles_app import until
from tests.terminal.test_scan_offer import balance, card, scan_screen
from tests.terminal.test_till_offline import card_token

pytestmark = pytest.mark.anyio


async def test_a_revoked_till_declines_offline_after_a_restart(counter, key):
    card_id = card(counter, 2000)
    counter.store.save_revoked()  # heard before the restart; the server is gone now
    async with counter.app.run_test(size=(80, 24)) as pilot:
        scan = await scan_screen(pilot, counter)
        scan.take_code(card_token(key, card_id))
        await pilot.press(*"2.00", "enter")
        await until(pilot, lambda: scan.verdict_text.startswith("✘"), "the verdict")
        assert "DECLINED" in scan.verdict_text
        assert REVOKED in scan.verdict_text
    assert counter.store.pending_count() == 0
    assert balance(counter, card_id) == 2000
