"""Today's takings on the owner's screen (F3, Owner tab), at 80×24 against the real server:
shown from the business's report while the till is online, and said plainly to be unknown
once the server cannot be reached."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from textual.widgets import TabbedContent

from sync.money import Money
from terminal.app import make_app
from terminal.app.screens.owner import OwnerPane
from terminal.core.owner import OwnerDesk
from terminal.core.session import TerminalSession
from tests.e2e.conftest import PASSWORD, StoppableServer, open_cafe, signed_in
from tests.e2e.test_pairing_from_the_till import owner_at_the_till, text_of
from tests.e2e.test_terminal_app import until

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"  # Textual runs on asyncio


@pytest.fixture
def server(tmp_path):
    server = StoppableServer(tmp_path / "server")
    server.start()
    yield server
    server.stop()


async def test_todays_takings_show_online_and_say_so_offline(server, tmp_path):
    base = server.base
    email = f"owner-{time.monotonic_ns()}@example.com"
    owner = signed_in(base, "vendor", email)
    cafe = open_cafe(base, owner)
    business_id = cafe["business"]["id"]
    code = httpx.post(f"{base}/api/v1/businesses/{business_id}/pairing-codes", headers=owner)
    data = tmp_path / "till.db"
    TerminalSession(data).pair(base, code.json()["code"], "Till 1")
    for amount, key in ((450, "sale-1"), (250, "sale-2")):  # two sales at the counter today
        sold = httpx.post(
            f"{base}/api/v1/businesses/{business_id}/redemptions",
            headers={**owner, "Idempotency-Key": key},
            json={"card_id": cafe["card"]["id"], "amount_minor": amount},
        )
        assert sold.status_code == 200, sold.text

    app = make_app(data, sync_interval=3600, timeout=2.0)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.session.status().last_sync is not None, "first sync")
        await owner_at_the_till(pilot, app, email)
        await pilot.press("f3")
        app.screen.query_one(TabbedContent).active = "owner-tab"
        pane = app.screen.query_one(OwnerPane)  # signed in already: the account at the till
        said = pane.query_one("#owner-message")
        await until(pilot, lambda: text_of(said).startswith("Signed in."), f"tab: {text_of(said)}")
        takings = pane.query_one("#takings")
        await until(pilot, lambda: "£7.00" in text_of(takings), f"takings: {text_of(takings)}")
        assert "all tills): £7.00 from 2 redemptions" in text_of(takings)

        server.stop()  # the shop's internet goes down
        pane.refresh_takings()  # what the pane does every minute
        await until(pilot, lambda: "offline" in text_of(takings), "the till to say so")
        assert "not shown, this till is offline" in text_of(takings)
        assert "£7.00" not in text_of(takings)


def test_todays_takings_are_the_business_day_not_the_tills(server, tmp_path, monkeypatch):
    """The business is on Kiritimati (UTC+14), the till set to Etc/GMT+12 (UTC-12): their
    days are never the same day, so the sale shows only if the till asks for the shop's."""
    monkeypatch.setenv("TZ", "Etc/GMT+12")
    base = server.base
    email = f"owner-{time.monotonic_ns()}@example.com"
    owner = signed_in(base, "vendor", email)
    cafe = open_cafe(base, owner)
    business_id = cafe["business"]["id"]
    moved = httpx.patch(
        f"{base}/api/v1/businesses/{business_id}",
        headers=owner,
        json={"time_zone": "Pacific/Kiritimati"},
    )
    assert moved.status_code == 200, moved.text
    code = httpx.post(f"{base}/api/v1/businesses/{business_id}/pairing-codes", headers=owner)
    sold = httpx.post(
        f"{base}/api/v1/businesses/{business_id}/redemptions",
        headers={**owner, "Idempotency-Key": "sale-1"},
        json={"card_id": cafe["card"]["id"], "amount_minor": 450},
    )
    assert sold.status_code == 200, sold.text
    now = datetime.now(UTC)  # the till's clock, as the sale was made

    session = TerminalSession(tmp_path / "till.db", clock=lambda: now)
    session.pair(base, code.json()["code"], "Till 1")
    assert session.sync() is not None  # the first sync brings the business's zone
    takings = OwnerDesk.sign_in(session, email, PASSWORD).takings()
    session.close()
    assert takings.day == now.astimezone(ZoneInfo("Pacific/Kiritimati")).date()
    assert (takings.amount, takings.redemptions) == (Money.of(450, "GBP"), 1)
