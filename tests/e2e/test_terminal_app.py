"""The cashier's whole day through the Textual app (`App.run_test`) against the real server on
127.0.0.1: pair, scan a card with the camera and redeem part of it online, lose the server,
redeem offline within the limits, be declined beyond them, get the server back, sync, and
see the queue empty."""

from __future__ import annotations

import queue
import time
from collections.abc import Callable
from datetime import datetime

import httpx
import numpy as np
import pytest
from textual.widgets import DataTable, Input

from hardware import TextPrinter
from hardware.synthetic import Look, frame_with_codes
from terminal.app import make_app
from terminal.app.screens.history import ConfirmVoidScreen
from terminal.app.screens.owner import OwnerPane
from terminal.app.screens.pairing import PairingScreen
from terminal.app.screens.scan import ScanScreen, Step
from terminal.app.screens.signin import SignInScreen
from terminal.core.session import TerminalSession
from tests.e2e.conftest import (
    PASSWORD,
    StoppableServer,
    open_cafe,
    signed_in,
    tillpoint_run,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"  # Textual runs on asyncio


class CounterCamera:
    """A webcam stand-in behind the same FrameSource interface: whatever frame the test holds
    up, else an empty counter twice a second (slower than a webcam, so the app goes idle
    between key presses and Textual's pilot does not wait on the decoder)."""

    name = "counter camera"

    def __init__(self) -> None:
        self.shown: queue.Queue[np.ndarray] = queue.Queue()
        self.closed = False
        self.blank = frame_with_codes([])

    def hold_up(self, frame: np.ndarray, frames: int = 3) -> None:
        for _ in range(frames):
            self.shown.put(frame)

    def read(self):
        if self.closed:
            return None
        try:
            return self.shown.get(timeout=0.5)
        except queue.Empty:
            return self.blank

    def close(self) -> None:
        self.closed = True


async def until(pilot, condition, what: str | Callable[[], str], timeout: float = 20.0) -> None:
    """Let the app run until `condition()` holds (workers finish, messages arrive); `what`
    names it (a function, to say what the screen shows when it gives up)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what() if callable(what) else what}")
        await pilot.pause(0.05)


@pytest.fixture
def server(tmp_path):
    server = StoppableServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def shop(server):
    """A café with offline limits, a customer's £50 card, and a pairing code."""
    base = server.base
    owner_email = f"owner-{time.monotonic_ns()}@example.com"
    owner = signed_in(base, "vendor", owner_email)
    cafe = open_cafe(base, owner)
    business, customer, card = cafe["business"], cafe["customer"], cafe["card"]
    deal, voucher = cafe["deal"], cafe["voucher"]
    code = httpx.post(
        f"{base}/api/v1/businesses/{business['id']}/pairing-codes", headers=owner
    ).json()["code"]
    return {
        "business_id": business["id"],
        "card": card,
        "voucher": voucher,
        "customer": customer,
        "pairing_code": code,
        "owner_email": owner_email,
        "deal_id": deal["id"],
    }


async def usb_scan(pilot, code: str) -> None:
    """A USB scanner: the code typed fast, then Enter."""
    await pilot.press(*code, "enter")


async def test_a_cashiers_day_online_offline_and_back(server, shop, tmp_path):
    camera = CounterCamera()
    receipts = tmp_path / "receipts.txt"
    app = make_app(
        tmp_path / "terminal.db",
        server_url=server.base,
        camera=camera,
        printer=TextPrinter(receipts),
        sync_interval=3600,  # syncs here are the ones the test asks for
        timeout=2.0,
        scan_cooldown=1.0,  # the same card comes back to the camera within the test
    )
    card = shop["card"]
    async with app.run_test(size=(80, 24)) as pilot:
        # Pair: the owner's code typed on the pairing screen.
        assert isinstance(app.screen, PairingScreen)
        await pilot.press(*shop["pairing_code"], "enter")
        await until(pilot, lambda: isinstance(app.screen, ScanScreen), "pairing")
        await until(pilot, lambda: app.session.status().last_sync is not None, "first sync")
        scan = app.screen
        assert isinstance(scan, ScanScreen)

        # The camera sees the card, slightly turned; the cashier takes £12.50 off it online.
        camera.hold_up(frame_with_codes([card["token"]], look=Look(angle=12, noise=6)))
        await until(pilot, lambda: scan.step is Step.AMOUNT, "the camera to read the card")
        await pilot.press(*"12.50", "enter")
        await until(pilot, lambda: scan.step is Step.RECEIPT, "the online verdict")
        assert scan.verdict_text.startswith("✔ APPROVED (online)")
        assert "Balance left: £37.50" in scan.verdict_text
        await pilot.press("enter")  # print the receipt
        assert "Balance left" in receipts.read_text()
        assert "£37.50" in receipts.read_text()

        # The server goes away. A USB scanner reads the card; £5 is approved offline.
        server.stop()
        await usb_scan(pilot, card["token"])
        assert scan.step.name == "AMOUNT"
        await pilot.press("5", "enter")
        await until(pilot, lambda: scan.step is Step.RECEIPT, "the offline verdict")
        assert scan.verdict_text.startswith("✔ APPROVED (offline)")
        assert "Balance left: £32.50" in scan.verdict_text
        status = app.session.status()
        assert (status.online, status.waiting) == (False, 1)

        # More than one offline redemption may be: declined, and the screen says why.
        await pilot.press("escape")  # no receipt this time: the next customer
        camera.hold_up(frame_with_codes([card["token"]], 1280, 720, Look(angle=-20, tilt=0.2)))
        await until(pilot, lambda: scan.step is Step.AMOUNT, "the camera to read it again")
        await pilot.press(*"25", "enter")
        await until(pilot, lambda: scan.step is Step.IDLE, "the offline decline")
        assert scan.verdict_text.startswith("✘ DECLINED (offline)")
        assert "one redemption may be at most £20.00" in scan.verdict_text
        assert app.session.status().waiting == 1  # the decline queued nothing

        # The server is back; F5 syncs; the queue empties and the server has the offline £5.
        server.start()
        await pilot.press("f5")
        await until(
            pilot,
            lambda: app.session.status().waiting == 0 and app.session.status().online,
            "the sync",
        )
        answer = httpx.get(
            f"{server.base}/api/v1/gift-cards/{card['id']}", headers=shop["customer"]
        )
        assert answer.json()["balance"]["minor"] == 3250

        # Today's history has both redemptions, newest first. The customer changes their
        # mind about the last one: V, then Y, voids it; the £5 goes back on the card.
        await pilot.press("f2")
        history = [entry.mode for entry in app.session.store.journal(since=_midnight())]
        assert history == ["offline", "online"]
        await pilot.press("v")
        assert isinstance(app.screen, ConfirmVoidScreen)
        await pilot.press("y")
        assert app.session.store.journal(since=_midnight())[0].voided
        await until(pilot, lambda: app.session.status().waiting == 0, "the void to sync")
        answer = httpx.get(
            f"{server.base}/api/v1/gift-cards/{card['id']}", headers=shop["customer"]
        )
        assert answer.json()["balance"]["minor"] == 3750
    camera.close()


def _midnight():
    return datetime.now().astimezone().replace(hour=0, minute=0, second=0, microsecond=0)


def _owner_pin(server, shop, pin: str) -> None:
    """The owner gives themselves a till PIN (before pairing: the first sync brings it)."""
    owner = signed_in(server.base, "staff", shop["owner_email"])  # signs in only
    me = httpx.get(f"{server.base}/api/v1/me", headers=owner).json()
    answer = httpx.put(
        f"{server.base}/api/v1/businesses/{shop['business_id']}/till-staff/{me['id']}",
        json={"pin": pin, "role": "owner", "name": "Olive"},
        headers=owner,
    )
    assert answer.status_code == 200, answer.text


async def test_vouchers_once_bad_input_and_an_offline_product_edit(server, shop, tmp_path):
    data = tmp_path / "terminal.db"
    _owner_pin(server, shop, "7305")
    TerminalSession(data).pair(server.base, shop["pairing_code"], "Till 2")
    camera = CounterCamera()
    # Each frame held up is a new sighting. The server's answers get 10 s: on a busy test
    # machine a payment can take longer than 2 s, and going offline below is a refused
    # connection, which no timeout holds up.
    app = make_app(data, camera=camera, sync_interval=3600, timeout=10.0, scan_cooldown=0)
    voucher = frame_with_codes([shop["voucher"]["token"]], look=Look(size=0.4, blur=3))
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.session.status().last_sync is not None, "first sync")
        # The owner has a till PIN: once it arrives, the till asks who is at it.
        await until(pilot, lambda: isinstance(app.screen, SignInScreen), "the sign-in screen")
        said = app.screen.query_one("#signin-message")
        await pilot.press(*"7305", "enter")
        await until(pilot, lambda: isinstance(app.screen, ScanScreen), "the owner signed in", 60)
        assert not str(said.render()).startswith("Wrong")
        scan = app.screen
        assert isinstance(scan, ScanScreen)

        # A voucher names what to hand over; Enter accepts it once; shown again, the till
        # knows at once that it is used, before anyone presses Enter.
        camera.hold_up(voucher, frames=1)
        await until(pilot, lambda: scan.step is Step.CONFIRM, "the voucher")
        presented = str(scan.query_one("#presented").render())
        assert "Hand over: Two coffees for one · worth £3.40, single use" in presented
        await pilot.press("enter")
        await until(pilot, lambda: scan.step is Step.RECEIPT, "the voucher's verdict")
        assert scan.verdict_text.startswith("✔ APPROVED (online)")
        assert "Hand over: Two coffees for one" in scan.verdict_text
        assert "Redeemed £3.40" in scan.verdict_text
        await pilot.press("escape")  # no receipt
        camera.hold_up(voucher, frames=1)
        await until(pilot, lambda: scan.verdict_text.startswith("✘ ALREADY USED"), "used")
        assert scan.step.name == "IDLE"
        assert "Two coffees for one" in scan.verdict_text

        # Something that is not ours; then an amount that is not an amount.
        await pilot.press(*"hello", "enter")
        assert scan.verdict_text.startswith("✘ NOT ACCEPTED")
        assert "not a Tillpoint gift card or voucher" in scan.verdict_text
        camera.hold_up(frame_with_codes([shop["card"]["token"]]), frames=1)
        await until(pilot, lambda: scan.step is Step.AMOUNT, "the card")
        await pilot.press(*"abc", "enter")
        assert scan.step.name == "AMOUNT"  # nothing redeemed; the prompt says what to type
        assert "e.g. 12.50" in str(scan.query_one("#prompt").render())
        await pilot.press("escape")
        assert scan.step is Step.IDLE
        assert app.session.status().waiting == 0

        # The vendor adds a product while the server is away; it reaches the server on sync.
        server.stop()
        await pilot.press("f3")
        await pilot.click("#product-name")
        await pilot.press(*"Oat latte", "enter", *"3.80", "enter")
        assert app.session.status().waiting == 1
        usage = str(app.screen.query_one("#product-form-title").render())
        assert "1 of 10 products on Starter" in usage  # the plan's limit, synced at pairing
        server.start()
        await pilot.press("f5")
        await until(pilot, lambda: app.session.status().waiting == 0, "the product to sync")
        products = app.screen.query_one("#product-table", DataTable)

        def states() -> set[str]:
            return {str(products.get_row_at(row)[3]) for row in range(products.row_count)}

        await until(pilot, lambda: states() == {"synced"}, f"the list to refresh: {states()}")

        # The deal gets a new title: picked in the Deals tab, edited, synced.
        await pilot.press("f6", "enter")  # the Deals tab, into its table; pick the deal
        title = app.screen.query_one("#deal-title", Input)
        assert title.value == "Two coffees for one"
        title.value = "Two coffees, one price"
        await pilot.press("enter")
        await until(pilot, lambda: app.session.status().waiting == 0, "the deal edit to sync")
        deal = httpx.get(f"{server.base}/api/v1/deals/{shop['deal_id']}").json()
        assert deal["title"] == "Two coffees, one price"

        # Billing runs: the month's invoice cannot be collected (no card on file yet).
        billed = tillpoint_run("server", "billing-run", env=server.env)
        assert billed.returncode == 0, billed.stdout

        # The owner signs in on the Owner tab, sees this terminal and the unpaid invoice,
        # pays it with a card, and lowers an offline limit.
        await pilot.press(*["f6"] * 4)  # Deals → Branches, Limits, Sync, Owner
        await pilot.press(*shop["owner_email"], "enter", *PASSWORD, "enter")
        owner = app.screen.query_one(OwnerPane)
        message = owner.query_one("#owner-message")
        await until(pilot, lambda: owner.desk is not None, lambda: f"sign-in: {message.render()}")
        assert owner.query_one("#device-table", DataTable).row_count == 1
        billing = owner.query_one("#billing")
        assert "Billing: Starter, £1.00 a month, 1 of 10 products, past due." in str(
            billing.render()
        )
        assert "£1.00 open" in str(billing.render())
        # Into the card field (as Tab would take a cashier there): a click could land before
        # the pane has laid out its billing lines, and miss.
        owner.query_one("#pay-card", Input).focus()
        await pilot.pause()
        await pilot.press(*"4242424242424242", "enter")
        await until(
            pilot,
            lambda: "£1.00 paid" in str(billing.render()),
            lambda: f"the payment: {message.render()}",
            60,
        )
        assert "1 of 10 products, active." in str(billing.render())
        single = owner.query_one("#max_single_minor", Input)
        assert single.value == "20.00"
        single.value = "15.00"
        await pilot.click("#max_single_minor")
        await pilot.press("enter")
        await until(
            pilot,
            lambda: getattr(app.session.store.offline_limits(), "max_single_minor", 0) == 1500,
            "the new limit to reach the till",
        )
    listed = httpx.get(f"{server.base}/api/v1/businesses/{shop['business_id']}").json()
    assert {"Oat latte": 380}.items() <= {
        p["name"]: p["price"]["minor"] for p in listed["products"]
    }.items()
    camera.close()


async def test_verdicts_offers_receipts_sync_words_and_history(server, shop, tmp_path):
    data = tmp_path / "terminal.db"
    TerminalSession(data).pair(server.base, shop["pairing_code"], "Till 2")
    receipts = tmp_path / "receipts.txt"
    app = make_app(data, printer=TextPrinter(receipts), sync_interval=3600, timeout=2.0)
    card = shop["card"]["token"]
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.session.status().last_sync is not None, "first sync")
        await until(pilot, lambda: app.last_said.startswith("Synced: 0 sent, "), "its words")
        scan = app.screen
        assert isinstance(scan, ScanScreen)
        prompt = scan.query_one("#prompt")

        # A slip of the keys on the £50 card: no field paths, the card is kept, and taking
        # what it holds is one key away. Esc this time.
        await usb_scan(pilot, card)
        await pilot.press(*"999999", "enter")
        assert scan.step.name == "OFFER"
        said = str(prompt.render())
        assert "£999,999.00 is more than one redemption can be" in said
        assert "Card holds £50.00: Enter alone takes £50.00, or type another amount" in said
        assert "body." not in said
        await pilot.press("escape")
        assert scan.step.name == "IDLE"

        # £60 on it: the server declines, says what the card holds, and Enter takes it.
        await usb_scan(pilot, card)
        await pilot.press(*"60", "enter")
        await until(pilot, lambda: scan.step is Step.OFFER, "the decline with an offer")
        assert scan.verdict_text.startswith("✘ DECLINED (online)")
        assert "The card holds £50.00, less than £60.00." in scan.verdict_text
        assert "Enter alone takes £50.00, or type another amount" in scan.verdict_text
        await pilot.press("enter")
        await until(pilot, lambda: scan.step is Step.RECEIPT, "the approval")
        assert scan.verdict_text.startswith("✔ APPROVED (online)")
        assert "Balance left: £0.00" in scan.verdict_text
        assert str(scan.query_one("#banner").render()).startswith("✔  A P P R O V E D")

        # The receipt says what the screen said, and who, where and which operation.
        await pilot.press("enter")
        receipt = receipts.read_text().splitlines()
        assert receipt[0].strip() == "Café"
        assert "Till                      Till 2" in receipt
        assert "Cashier                   Till 2" in receipt
        assert "Redeemed                  £50.00" in receipt
        assert "Balance left               £0.00" in receipt
        assert "Approved online" in receipt
        assert any(line.startswith("Ref ") and len(line) > 6 for line in receipt)

        # History counts in words; a void is offered once, never for a voided row.
        await pilot.press("f2")
        assert "1 redemption today" in str(app.screen.query_one("#totals").render())
        await pilot.press("v")
        assert isinstance(app.screen, ConfirmVoidScreen)
        await pilot.press("y")
        await until(pilot, lambda: app.session.status().waiting == 0, "the void to sync")
        await pilot.press("v")  # the same row, now voided
        assert not isinstance(app.screen, ConfirmVoidScreen)
        assert app.session.store.journal(since=_midnight())[0].voided

        # F5 says what it did; without the server it says so and works on.
        await pilot.press("f5")
        await until(pilot, lambda: app.last_said.startswith("Synced: 0 sent"), "F5's words")
        server.stop()
        await pilot.press("f5")
        await until(
            pilot,
            lambda: app.last_said == "Could not reach the server: working offline",
            "the offline words",
        )


def _redeem_as_owner(server, shop, amount_minor: int) -> None:
    owner = signed_in(server.base, "staff", shop["owner_email"])  # signs in only
    answer = httpx.post(
        f"{server.base}/api/v1/businesses/{shop['business_id']}/redemptions",
        headers={**owner, "Idempotency-Key": f"counter-{time.monotonic_ns()}"},
        json={"card_id": shop["card"]["id"], "amount_minor": amount_minor},
    )
    assert answer.status_code in (200, 201), answer.text


async def test_an_online_terminal_pulls_when_its_stream_says_changes_wait(server, shop, tmp_path):
    app = make_app(tmp_path / "terminal.db", server_url=server.base, sync_interval=3600)
    card_id = shop["card"]["id"]

    def balance() -> int | None:
        card = app.session.store.card(card_id)
        return None if card is None else card.balance_minor

    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*shop["pairing_code"], "enter")
        await until(pilot, lambda: app.session.status().last_sync is not None, "first sync")
        await until(pilot, lambda: app.session.listening, "the stream")
        assert balance() == 5000

        # Redeemed at another till: the timer is an hour away, the stream tells at once.
        _redeem_as_owner(server, shop, 700)
        await until(pilot, lambda: balance() == 4300, "the change, pulled")

        # The server goes away and comes back: the terminal connects again, and hears of
        # what changed while it was not listening.
        server.stop()
        await until(pilot, lambda: not app.session.listening, "the stream to drop")
        server.start()
        _redeem_as_owner(server, shop, 300)
        await until(pilot, lambda: balance() == 4000, "the change made while away")
        assert app.session.listening
