"""README's first command: the demo server, a paired terminal and the sample camera feed —
a newcomer sees a card scanned and redeemed."""

from __future__ import annotations

import pytest

from hardware import ImageSource, QrDecoder
from server.demo import DEMO_PINS
from terminal.app import make_app
from terminal.app.screens.scan import ScanScreen, Step
from terminal.app.screens.signin import SignInScreen
from terminal.demo import choose_camera, demo_server, pair_demo_terminal, sample_feed
from tests.e2e.conftest import FAST_HASHING, free_port
from tests.e2e.test_terminal_app import until

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


async def test_the_demo_pairs_a_terminal_and_its_feed_brings_a_card_to_redeem(
    tmp_path, monkeypatch
):
    for name, value in FAST_HASHING.items():
        monkeypatch.setenv(name, value)
    data = tmp_path / "demo"
    with demo_server(data, free_port()) as base:
        terminal = data / "terminal.db"
        pair_demo_terminal(base, terminal)
        pair_demo_terminal(base, terminal)  # a second run keeps the pairing it has
        feed = sample_feed(data)
        frames = ImageSource.folder(feed).paths
        # Each demo code as a frame, with an empty counter after it; the first is a card.
        assert len(frames) == 2 * len(list((data / "qr").glob("*.png")))
        frame = ImageSource([frames[0]]).read()
        assert frame is not None
        first = QrDecoder().decode(frame).codes
        assert len(first) == 1
        assert first[0].startswith("TP1:")
        assert choose_camera("2", data) == ("2", False)  # asked for: used as given

        app = make_app(terminal, camera=str(feed), camera_loop=True, sync_interval=3600)
        async with app.run_test(size=(80, 24)) as pilot:
            # The café's till PINs came with the pairing's first sync: the cashier signs in.
            await until(pilot, lambda: isinstance(app.screen, SignInScreen), "sign-in", 60)
            assert [s.name for s in app.session.store.staff()] == ["Cashier", "Vendor"]
            await pilot.press(*DEMO_PINS["cashier"][2], "enter")
            await until(pilot, lambda: isinstance(app.screen, ScanScreen), "the cashier", 60)
            scan = app.screen
            assert isinstance(scan, ScanScreen)
            await until(pilot, lambda: scan.step is Step.AMOUNT, "the feed's first card", 60)
            await pilot.press(*"4.20", "enter")
            await until(pilot, lambda: scan.step is not Step.REDEEMING, "the verdict")
            assert scan.verdict_text.startswith("✔ APPROVED (online)")
            assert "Balance left: £20.80" in scan.verdict_text
            # The demo till serves one of the café's two branches, and its receipts say which.
            assert app.session.shop().branch in {"Shoreditch", "Camden"}
