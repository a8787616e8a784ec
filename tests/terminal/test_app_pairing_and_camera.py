"""The pairing screen takes a code as the command line does (spaces, a dash, lower case), and
the status line tells the camera's real state from the start: given but not started until
someone signs in, or unable to read codes (no QR decoder), said briefly there and whole in a
notification (`App.run_test`)."""

from __future__ import annotations

import pytest
from textual.widgets import Input, Static

from hardware import ScriptedSource, TextPrinter
from terminal.app import make_app
from terminal.app.screens.pairing import PairingScreen, pairing_code
from terminal.app.screens.signin import SignInScreen
from terminal.app.status import StatusLine
from terminal.core.session import PairingFailedError
from tests.hardware.test_decoder_fallback import missing, no_libzbar, no_zxing
from tests.terminal.test_roles_app import IDLE, Counter, until
from tests.terminal.test_till_offline import unused_url

pytestmark = pytest.mark.anyio

__all__ = ["missing"]  # the fixture, shared with the decoder's own tests


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("9wdc s6l8", "9WDC-S6L8"),
        ("9wdc-s6l8", "9WDC-S6L8"),
        (" 9WDC  S6L8 ", "9WDC-S6L8"),
        ("9wdcs6l8", "9WDC-S6L8"),
        ("TPPAIR:9WDC-S6L8", "9WDC-S6L8"),
        ("9wdc s6l", None),
        ("9wdc s6l8x", None),
        ("9wdc_s6l8", None),
    ],
)
def test_a_pairing_code_is_read_as_the_command_line_reads_it(typed, code):
    assert pairing_code(typed) == code


async def test_a_code_typed_with_a_space_is_sent_to_pair(tmp_path, monkeypatch):
    app = make_app(tmp_path / "till.db", server_url=unused_url(), sync_interval=3600)
    sent: list[str] = []

    def pair(server: str, code: str, name: str) -> None:
        sent.append(code)
        raise PairingFailedError("the stand-in server took the code.")

    monkeypatch.setattr(app.session, "pair", pair)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, PairingScreen), "the pairing screen")
        app.screen.query_one("#code", Input).focus()
        await pilot.press(*"9wdc s6l8", "enter")
        prompt = app.screen.query_one("#prompt", Static)
        await until(pilot, lambda: str(prompt.render()).startswith("Not paired"), "the pairing")
        assert sent == ["9WDC-S6L8"]


def with_camera(counter: Counter) -> None:
    """The counter's till opened with a camera (a scripted one, never started here)."""
    counter.app = make_app(
        counter.data,
        clock=lambda: counter.now,
        printer=TextPrinter(counter.data.parent / "receipts.txt"),
        sync_interval=3600,
        timeout=0.5,
        idle_timeout=IDLE,
        camera=ScriptedSource([], name="counter-cam"),
    )
    counter.app.notify = lambda message, **_: counter.said.append(str(message))  # type: ignore[method-assign]


@pytest.fixture
def counter(tmp_path, key):
    counter = Counter(tmp_path, key)
    with_camera(counter)
    yield counter
    counter.close()


def status_of(app) -> str:
    return str(app.screen.query_one(StatusLine).render())


async def test_the_sign_in_screen_says_the_camera_waits_for_someone(counter):
    app = counter.app
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, SignInScreen), "the sign-in screen")
        await pilot.pause()
        assert status_of(app).endswith("camera: counter-cam, on once someone signs in")


async def test_a_camera_that_cannot_read_codes_says_so_briefly_and_whole(counter, missing):
    missing.update(no_zxing())
    missing.update(no_libzbar())
    app = counter.app
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, SignInScreen), "the sign-in screen")
        await until(pilot, lambda: status_of(app).endswith("camera: no QR decoder"), "the line")
        whole = [said for said in counter.said if said.startswith("Camera: no QR decoder")]
        assert len(whole) == 1
        assert "pip install zxing-cpp" in whole[0]
        assert "apt-get install libzbar0" in whole[0]
        assert "tillpoint[hardware]" not in whole[0]
