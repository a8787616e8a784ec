"""Text the till stores (deal titles, cashiers' names) or is told (the server's words) is
shown as it was written, never read as markup: `[/b]` in a deal's title once crashed every
till that synced it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from rich.text import Text
from textual.widgets import DataTable

from sync.money import Money
from sync.tokens import id_text, new_id
from sync.wire import DealState
from terminal.app.screens.history import HistoryScreen
from terminal.app.screens.scan import Step
from terminal.core.kinds import Mode, RedemptionKind
from tests.terminal.test_roles_app import until
from tests.terminal.test_scan_offer import card, scan_screen, shown
from tests.terminal.test_till_offline import card_token, page, voucher_token

pytestmark = pytest.mark.anyio


TITLE = "Two flat whites [/b] [red]promo [@click=app.quit]now[/]"
NAME = "Sam [/b] [bold]\\"


def with_deal(counter, key, title: str) -> bytes:
    """A deal as last synced, titled `title`; its id (for `voucher_token`)."""
    deal_id = new_id()
    deal = DealState(
        id=id_text(deal_id),
        title=title,
        deal_price_minor=300,
        currency="GBP",
        starts_at=datetime.now(UTC) - timedelta(days=1),
        ends_at=datetime.now(UTC) + timedelta(days=7),
        ended=False,
        version=1,
    )
    counter.store.apply_changes(page(key).model_copy(update={"deals": [deal]}))
    return deal_id


async def test_a_deal_title_with_brackets_shows_as_typed_before_after_and_once_used(counter, key):
    deal_id = with_deal(counter, key, TITLE)
    token = voucher_token(key, new_id(), face=300, deal_id=deal_id)
    async with counter.app.run_test(size=(80, 24)) as pilot:
        scan = await scan_screen(pilot, counter)
        scan.take_code(token)
        assert scan.step.name == "CONFIRM", scan.verdict_text
        assert f"Hand over: {TITLE} · worth £3.00" in shown(scan.query_one("#presented"))
        await pilot.press("enter")
        await until(pilot, lambda: scan.step is Step.RECEIPT, "the voucher's approval")
        assert f"Hand over: {TITLE}" in shown(scan.query_one("#verdict"))
        await pilot.press("escape")  # no receipt
        scan.take_code(token)  # shown again: used, and said so with its title
        assert scan.verdict_text.startswith("✘ ALREADY USED")
        assert f"This voucher ({TITLE}) has already been used" in shown(scan.query_one("#verdict"))
        await pilot.pause()
        assert counter.app.is_running  # drawn, not crashed


async def test_an_amount_typed_with_brackets_is_refused_in_words(counter, key):
    card_id = card(counter, 1000)
    async with counter.app.run_test(size=(80, 24)) as pilot:
        scan = await scan_screen(pilot, counter)
        scan.take_code(card_token(key, card_id))
        await pilot.press(*"[/b]", "enter")
        assert scan.step.name == "AMOUNT"
        await pilot.pause()
        assert counter.app.is_running


async def test_history_draws_names_with_brackets_as_typed(counter, key):
    counter.store.note_redemption(
        RedemptionKind.GIFT_CARD,
        id_text(new_id()),
        Money.of(420, "GBP"),
        Mode.OFFLINE,
        Money.of(0, "GBP"),
        "attempt-1",
        NAME,
    )
    app = counter.app
    async with app.run_test(size=(100, 24)) as pilot:
        await scan_screen(pilot, counter)
        await pilot.press("f2")
        assert isinstance(app.screen, HistoryScreen)
        table = app.screen.query_one(DataTable)
        row = table.get_row_at(0)
        assert Text.from_markup(str(row[-1])).plain == NAME  # as the table reads its cells
        await pilot.pause()
        drawn = table.render_line(1).text  # the first row, under the header
        assert "Sam [/b] [bold]\\" in drawn
        assert app.is_running
