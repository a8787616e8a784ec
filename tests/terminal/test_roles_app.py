"""Roles at the till, through the Textual app at 80x24 (`App.run_test`), with no server: the
client points at a closed port, so the till decides offline. Each role on each screen,
sign-out, the idle time-out on an injected clock, and the throttle on wrong PINs."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from textual.widgets import DataTable, TabbedContent

from hardware import TextPrinter
from sync.pins import hash_pin
from sync.tokens import id_text, new_id
from sync.wire import ChangesPage, StaffRole, StaffState
from terminal.app import make_app
from terminal.app.screens.history import HistoryScreen
from terminal.app.screens.scan import ScanScreen, Step
from terminal.app.screens.signin import SignInScreen
from terminal.app.screens.staff import StaffScreen
from terminal.app.screens.vendor import VendorScreen
from terminal.core.kinds import CardStatus
from terminal.core.store import Pairing, TerminalStore
from tests.terminal.test_till_offline import BUSINESS, card_token, page, unused_url

pytestmark = pytest.mark.anyio

# Low-cost hashes, so the tests do not wait on scrypt; the till reads the cost from each.
STAFF = {
    "Alex": StaffState(
        id="alex-id", name="Alex", role=StaffRole.MANAGER, pin_hash=hash_pin("5930", cost=4)
    ),
    "Olive": StaffState(
        id="olive-id", name="Olive", role=StaffRole.OWNER, pin_hash=hash_pin("7305", cost=4)
    ),
    "Sam": StaffState(
        id="sam-id", name="Sam", role=StaffRole.CASHIER, pin_hash=hash_pin("4821", cost=4)
    ),
}
PINS = {"Alex": "5930", "Olive": "7305", "Sam": "4821"}
EVERYONE = tuple(STAFF.values())
IDLE = 300.0


def paired_till(path, key, staff=()):
    store = TerminalStore(path)
    store.save_pairing(
        Pairing(unused_url(), "dev", id_text(BUSINESS), "secret", Ed25519PrivateKey.generate())
    )
    base = page(key).model_dump()
    store.apply_changes(
        ChangesPage.model_validate({**base, "staff": [s.model_dump() for s in staff]})
    )
    store.save_till_name("Front till")
    return store


class Counter:
    """The app under test, its injected clock, and what it told the person at the till."""

    def __init__(self, tmp_path, key, staff=EVERYONE):
        self.data = tmp_path / "till.db"
        self.store = paired_till(self.data, key, staff)
        self.now = datetime.now(UTC)
        self.said: list[str] = []
        self.restart()

    def restart(self) -> None:
        """A new app on the same till's files, as after the till was closed and opened."""
        self.app = make_app(
            self.data,
            clock=lambda: self.now,
            printer=TextPrinter(self.data.parent / "receipts.txt"),
            sync_interval=3600,
            timeout=0.5,
            idle_timeout=IDLE,
        )
        self.app.notify = lambda message, **_: self.said.append(str(message))  # type: ignore[method-assign]

    def close(self):
        self.store.close()


@pytest.fixture
def counter(tmp_path, key):
    counter = Counter(tmp_path, key)
    yield counter
    counter.close()


async def until(pilot, condition, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        await pilot.pause(0.02)


async def sign_in(pilot, app, name: str, pin: str | None = None) -> None:
    screen = app.screen
    assert isinstance(screen, SignInScreen)
    names = [s.name for s in app.session.store.staff()]
    await pilot.press("up" if names.index(name) == 0 else "down")  # any key, then to the name
    while screen.picked_id() != STAFF[name].id:
        await pilot.press("down")
    await pilot.press(*(pin or PINS[name]), "enter")


async def signed_in_as(pilot, counter, name: str) -> None:
    app = counter.app
    await sign_in(pilot, app, name)
    await until(pilot, lambda: app.session.signed_in is not None, f"{name} signed in")
    await until(pilot, lambda: app.current_mode == "scan", "the scan screen")


async def test_the_till_asks_who_is_at_it_and_lets_no_one_past_before(counter):
    app = counter.app
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, SignInScreen), "the sign-in screen")
        people = app.screen.query_one("#people")
        assert [str(people.get_option_at_index(i).prompt) for i in range(3)] == [
            "Alex · manager",
            "Olive · owner",
            "Sam · cashier",
        ]
        for key in ("f1", "f2", "f3"):
            await pilot.press(key)
            assert app.current_mode == "signin"
        assert "Sign in first: pick your name and type your PIN." in counter.said


async def test_a_cashier_scans_and_sees_the_history_but_not_the_vendor_screens(counter):
    app = counter.app
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, SignInScreen), "the sign-in screen")
        await signed_in_as(pilot, counter, "Sam")
        assert "Signed in: Sam (cashier)." in counter.said
        assert isinstance(app.screen, ScanScreen)
        await pilot.press("f2")
        assert isinstance(app.screen, HistoryScreen)
        await pilot.press("f3")
        assert app.current_mode == "history"
        assert counter.said[-1] == (
            "Sam is signed in as a cashier: the vendor screens need a manager or the owner. "
            "Ask one to sign in (F4 signs you out)."
        )
        await pilot.press("f7")
        assert app.current_mode == "history"
        assert counter.said[-1].startswith("Only the owner gives staff their PINs")
        await pilot.press("f1")
        assert isinstance(app.screen, ScanScreen)


@pytest.mark.parametrize("name", ["Alex", "Olive"])
async def test_a_manager_or_the_owner_opens_the_vendor_screens_and_signs_out(counter, name):
    app = counter.app
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, SignInScreen), "the sign-in screen")
        await signed_in_as(pilot, counter, name)
        await pilot.press("f3")
        assert isinstance(app.screen, VendorScreen)
        tabs = app.screen.query_one(TabbedContent)
        for _ in range(5):  # Products → … → the Owner tab
            await pilot.press("f6")
        assert tabs.active == "owner-tab"
        await pilot.press("f7")
        if name == "Olive":  # the owner's Staff screen; PINs change with the account only
            assert isinstance(app.screen, StaffScreen)
            message = str(app.screen.query_one("#staff-message").render())
            assert message.startswith("PINs are set on the server with the owner's account")
        else:
            assert isinstance(app.screen, VendorScreen)
            assert counter.said[-1].startswith("Only the owner gives staff their PINs")
        await pilot.press("f2")
        assert isinstance(app.screen, HistoryScreen)
        await pilot.press("f4")
        assert f"{name} signed out." in counter.said
        assert app.session.signed_in is None
        assert isinstance(app.screen, SignInScreen)
        await pilot.press("f3")
        assert app.current_mode == "signin"


async def test_an_idle_till_signs_out_on_its_own(counter):
    app = counter.app
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, SignInScreen), "the sign-in screen")
        await signed_in_as(pilot, counter, "Alex")
        await pilot.press("f3")
        start = counter.now
        counter.now = start + timedelta(seconds=IDLE - 60)
        await pilot.press("f6")  # someone at the till: the idle time starts again
        counter.now = start + timedelta(seconds=IDLE + 30)
        app.sign_out_if_idle()
        assert app.session.signed_in is not None
        assert isinstance(app.screen, VendorScreen)
        counter.now = start + timedelta(seconds=2 * IDLE)
        app.sign_out_if_idle()
        assert app.session.signed_in is None
        assert "Alex signed out after 5 minutes without use." in counter.said
        await pilot.pause()
        assert isinstance(app.screen, SignInScreen)


async def test_wrong_pins_are_throttled_and_the_wait_outlives_a_restart(tmp_path, key):
    counter = Counter(tmp_path, key)
    app = counter.app
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, SignInScreen), "the sign-in screen")
        message = app.screen.query_one("#signin-message")
        for wrong in ("1111", "2222", "3333"):
            await sign_in(pilot, app, "Sam", wrong)
            await until(pilot, lambda: "Wrong PIN" in str(message.render()), "the refusal")
            last = str(message.render())
            await pilot.press("escape")  # nothing: the message stays until the next try
        assert "the next try in 30 seconds" in last
        await sign_in(pilot, app, "Sam")  # the right PIN, too soon
        await until(pilot, lambda: "Too many" in str(message.render()), "the wait")
        assert app.session.signed_in is None
    counter.close()

    restarted = Counter(tmp_path, key)  # the same file: the wait is still there
    restarted.now = counter.now + timedelta(seconds=10)
    app = restarted.app
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, SignInScreen), "the sign-in screen")
        message = app.screen.query_one("#signin-message")
        await sign_in(pilot, app, "Sam")
        await until(pilot, lambda: "Too many" in str(message.render()), "the wait")
        restarted.now += timedelta(seconds=30)
        await signed_in_as(pilot, restarted, "Sam")
    restarted.close()


async def test_history_and_receipts_name_the_cashier(counter, key, tmp_path):
    card = new_id()
    counter.store.cache_card(id_text(card), "GBP", 2000, CardStatus.ACTIVE)
    app = counter.app
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, SignInScreen), "the sign-in screen")
        await signed_in_as(pilot, counter, "Sam")
        scan = app.screen
        assert isinstance(scan, ScanScreen)
        scan.take_code(card_token(key, card))
        await pilot.press(*"4.20", "enter")
        await until(pilot, lambda: scan.step is Step.RECEIPT, "the verdict")
        await pilot.press("enter")  # print
        receipt = (tmp_path / "receipts.txt").read_text()
        assert "Cashier" in receipt
        assert "Sam" in receipt
        await pilot.press("f2")
        table = app.screen.query_one(DataTable)
        assert table.get_row_at(0)[-1] == "Sam"
    (event,) = counter.store.pending()
    assert event.payload["cashier_id"] == "sam-id"


async def test_with_no_pins_yet_the_till_works_as_itself_but_the_vendor_screens_stay_shut(
    tmp_path, key
):
    counter = Counter(tmp_path, key, staff=())
    app = counter.app
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert isinstance(app.screen, ScanScreen)
            await pilot.press("f2")
            assert isinstance(app.screen, HistoryScreen)
            await pilot.press("f3")
            assert isinstance(app.screen, HistoryScreen)
            assert "no one has a till PIN yet" in counter.said[-1]
    finally:
        counter.close()
