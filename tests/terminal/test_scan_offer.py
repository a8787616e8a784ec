"""The scan screen after a decline that offers what the card holds, through the Textual app
at 80x24 with no server (the till decides offline): Enter alone takes the offer, a typed
amount is taken instead of it."""

from __future__ import annotations

import pytest
from textual.widget import Widget

from sync.tokens import id_text, new_id
from terminal.app.screens.scan import ScanScreen, Step
from terminal.core.kinds import CardStatus
from tests.terminal.test_roles_app import Counter, until
from tests.terminal.test_till_offline import card_token

pytestmark = pytest.mark.anyio


def card(counter: Counter, balance_minor: int) -> bytes:
    """A gift card this till has seen, holding `balance_minor`; its id (for `card_token`)."""
    card_id = new_id()
    counter.store.cache_card(id_text(card_id), "GBP", balance_minor, CardStatus.ACTIVE)
    return card_id


def shown(widget: Widget) -> str:
    """What a widget shows, as plain text."""
    return str(widget.render())


async def scan_screen(pilot, counter: Counter) -> ScanScreen:
    app = counter.app
    await until(pilot, lambda: isinstance(app.screen, ScanScreen), "the scan screen")
    await until(pilot, lambda: app.last_sync_ok is not None, "the first sync to be tried")
    screen = app.screen
    assert isinstance(screen, ScanScreen)
    return screen


def balance(counter: Counter, card_id: bytes) -> int:
    held = counter.store.card(id_text(card_id))
    assert held is not None
    return int(held.balance_minor)


async def test_a_typed_amount_after_a_decline_is_taken_instead_of_the_offer(counter, key):
    card_id = card(counter, 2080)
    async with counter.app.run_test(size=(80, 24)) as pilot:
        scan = await scan_screen(pilot, counter)
        scan.take_code(card_token(key, card_id))
        await pilot.press(*"30", "enter")
        await until(pilot, lambda: scan.step is Step.OFFER, "the decline with an offer")
        prompt = shown(scan.query_one("#prompt"))
        assert "Enter alone takes £20.80, or type another amount" in prompt
        assert "Enter alone takes £20.80, or type another amount" in scan.verdict_text
        await pilot.press("3", "enter")  # what the customer wants instead
        await until(pilot, lambda: scan.step is Step.RECEIPT, "the approval")
        assert "Redeemed £3.00" in scan.verdict_text
        assert "Balance left: £17.80" in scan.verdict_text
    assert balance(counter, card_id) == 1780


async def test_a_typed_amount_after_a_slip_of_the_keys_is_taken_instead_of_the_offer(counter, key):
    card_id = card(counter, 500)
    async with counter.app.run_test(size=(80, 24)) as pilot:
        scan = await scan_screen(pilot, counter)
        scan.take_code(card_token(key, card_id))
        await pilot.press(*"999999999999", "enter")
        assert scan.step.name == "OFFER"
        prompt = shown(scan.query_one("#prompt"))
        assert "is more than one redemption can be" in prompt
        assert "Enter alone takes £5.00, or type another amount" in prompt
        await pilot.press(*" 4.20 GBP", "enter")
        await until(pilot, lambda: scan.step is Step.RECEIPT, "the approval")
        assert "Redeemed £4.20" in scan.verdict_text
    assert balance(counter, card_id) == 80


async def test_a_wrong_amount_in_place_of_the_offer_asks_for_the_amount_again(counter, key):
    card_id = card(counter, 2080)
    async with counter.app.run_test(size=(80, 24)) as pilot:
        scan = await scan_screen(pilot, counter)
        scan.take_code(card_token(key, card_id))
        await pilot.press(*"30", "enter")
        await until(pilot, lambda: scan.step is Step.OFFER, "the decline with an offer")
        await pilot.press(*"abc", "enter")
        assert scan.step.name == "AMOUNT"  # nothing taken: the amount, again
        assert scan.offer is None
        await pilot.press("enter")  # Enter alone is not the old offer any more
        assert scan.step.name == "AMOUNT"
    assert balance(counter, card_id) == 2080
    assert counter.store.pending_count() == 0


async def test_enter_alone_takes_the_offer(counter, key):
    card_id = card(counter, 2080)
    async with counter.app.run_test(size=(80, 24)) as pilot:
        scan = await scan_screen(pilot, counter)
        scan.take_code(card_token(key, card_id))
        await pilot.press(*"30", "enter")
        await until(pilot, lambda: scan.step is Step.OFFER, "the decline with an offer")
        await pilot.press("enter")
        await until(pilot, lambda: scan.step is Step.RECEIPT, "the approval")
        assert "Redeemed £20.80" in scan.verdict_text
        assert "Balance left: £0.00" in scan.verdict_text
    assert balance(counter, card_id) == 0
