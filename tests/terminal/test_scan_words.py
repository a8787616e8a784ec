"""What the scan screen says about the card and the amount: an empty card is known to be
empty, a refused code leaves no other card's details behind, and each kind of wrong amount
gets one short sentence."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable

from sync.money import Money
from sync.tokens import id_text, new_id
from terminal.app.screens.history import HistoryScreen
from terminal.app.screens.scan import Step
from terminal.core.kinds import Mode, RedemptionKind
from tests.terminal.test_roles_app import until
from tests.terminal.test_scan_offer import card, scan_screen, shown
from tests.terminal.test_till_offline import card_token

pytestmark = pytest.mark.anyio


async def test_an_empty_card_is_shown_as_empty_not_unknown(counter, key):
    card_id = card(counter, 0)
    async with counter.app.run_test(size=(80, 24)) as pilot:
        scan = await scan_screen(pilot, counter)
        scan.take_code(card_token(key, card_id))
        presented = shown(scan.query_one("#presented"))
        assert "Last known balance: £0.00: the card is empty" in presented
        assert "server will check" not in presented


async def test_a_card_never_seen_offline_does_not_promise_the_server_will_check(counter, key):
    async with counter.app.run_test(size=(80, 24)) as pilot:
        scan = await scan_screen(pilot, counter)
        assert counter.app.session.status().online is False
        scan.take_code(card_token(key, new_id()))
        presented = shown(scan.query_one("#presented"))
        assert "server will check" not in presented
        assert "not known" in presented


async def test_history_shows_what_an_emptied_card_has_left(counter, key):
    for left in (0, 1500):
        counter.store.note_redemption(
            RedemptionKind.GIFT_CARD,
            id_text(new_id()),
            Money.of(500, "GBP"),
            Mode.ONLINE,
            Money.of(left, "GBP"),
            f"attempt-{left}",
        )
    app = counter.app
    async with app.run_test(size=(100, 24)) as pilot:
        await scan_screen(pilot, counter)
        await pilot.press("f2")
        assert isinstance(app.screen, HistoryScreen)
        table = app.screen.query_one(DataTable)
        lefts = {str(table.get_row_at(row)[5]) for row in range(table.row_count)}
        assert lefts == {"£0.00", "£15.00"}


async def test_a_refused_code_does_not_show_under_the_last_cards_details(counter, key):
    card_id = card(counter, 1000)
    async with counter.app.run_test(size=(80, 24)) as pilot:
        scan = await scan_screen(pilot, counter)
        scan.take_code(card_token(key, card_id))
        assert "Gift card" in shown(scan.query_one("#presented"))
        await pilot.press(*"TP1:XYZ", "enter")  # looks like ours, but is not
        assert scan.verdict_text.startswith("✘ NOT ACCEPTED")
        assert shown(scan.query_one("#presented")) == ""
        assert scan.presented is None
        assert scan.step.name == "IDLE"


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ("0", "The amount must be more than zero · Esc cancels"),
        ("-5", "The amount must be more than zero · Esc cancels"),
        ("0.00", "The amount must be more than zero · Esc cancels"),
        ("", "Type the amount, e.g. 12.50, then Enter · Esc cancels"),
        ("abc", "Type the amount in pounds and pence, e.g. 12.50 · Esc cancels"),
        ("EUR5", "Type the amount in pounds and pence, e.g. 12.50 · Esc cancels"),
        ("4,20", "For £4.20 type 4.20, with a point, not a comma · Esc cancels"),
        ("12,5", "Commas go between thousands (1,234.50), or leave them out · Esc cancels"),
        ("4.205", "Type at most two decimals, e.g. 12.50 · Esc cancels"),
        ("4.", "Type the pence after the point, e.g. 12.50 · Esc cancels"),
        ("4.2.0", "Type one decimal point, e.g. 12.50 · Esc cancels"),
        ("4x2", "Type the amount in pounds and pence, e.g. 12.50 · Esc cancels"),
    ],
)
async def test_each_wrong_amount_gets_one_short_sentence(counter, key, typed, said):
    card_id = card(counter, 1000)
    async with counter.app.run_test(size=(80, 24)) as pilot:
        scan = await scan_screen(pilot, counter)
        scan.take_code(card_token(key, card_id))
        await pilot.press(*typed, "enter")
        prompt = shown(scan.query_one("#prompt"))
        assert prompt == said
        assert prompt.count("e.g.") <= 1
        assert scan.step.name == "AMOUNT"  # nothing redeemed
        await until(pilot, lambda: scan.step is Step.AMOUNT, "the amount step")
    assert counter.store.pending_count() == 0
