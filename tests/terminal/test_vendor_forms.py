"""The vendor's Products, Deals and Branches tabs through the Textual app (`App.run_test`),
with no server: names and titles that look like markup draw as typed and save without a
crash (they come from the server, so one bad title would bring down every till), prices the
server's sync would refuse are refused here in words, Esc cancels an edit, and the deal
title takes no more than the server does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from rich.text import Text
from textual.widgets import DataTable, Input, TabbedContent
from textual.widgets._data_table import default_cell_formatter
from textual.widgets._toast import Toast

from sync.wire import ChangesPage
from terminal.app.screens.signin import SignInScreen
from terminal.app.screens.vendor import VendorScreen
from tests.terminal.test_roles_app import Counter, signed_in_as, until
from tests.terminal.test_till_offline import page

pytestmark = pytest.mark.anyio

TITLE = "Two flat whites [/b] [red]promo"
PRODUCT = "Scone [/b] [$accent]"
BRANCH = "High St [/] [B]"
ADDRESS = "1 [High] Street [/i]"
PLAIN = {TITLE: "Two flat whites", PRODUCT: "Scone", BRANCH: "High St", ADDRESS: "1 High St"}
NOW = datetime.now(UTC)


def listings(key, marked: bool) -> ChangesPage:
    """A pull with two products, a deal and a branch; `marked`: named like markup."""

    def name(text: str) -> str:
        return text if marked else PLAIN[text]

    base = page(key).model_dump()
    return ChangesPage.model_validate(
        {
            **base,
            "products": [
                {
                    "id": "product0001",
                    "name": name(PRODUCT),
                    "price_minor": 310,
                    "currency": "GBP",
                    "version": 3,
                },
                {
                    "id": "product0002",
                    "name": "Almond croissant",
                    "price_minor": 310,
                    "currency": "GBP",
                    "version": 1,
                },
            ],
            "deals": [
                {
                    "id": "deal0000001",
                    "title": name(TITLE),
                    "deal_price_minor": 340,
                    "currency": "GBP",
                    "starts_at": NOW - timedelta(days=1),
                    "ends_at": NOW + timedelta(days=30),
                    "ended": False,
                    "version": 2,
                },
            ],
            "branches": [
                {"id": "branch00001", "name": name(BRANCH), "address": name(ADDRESS), "version": 1},
            ],
        }
    )


class Till(Counter):
    """The counter of test_roles_app, its notices shown for real (markup and all) as well
    as kept in `said`."""

    def __init__(self, tmp_path, key, marked: bool = False):
        super().__init__(tmp_path, key)
        self.store.apply_changes(listings(key, marked))
        app = self.app
        shown = type(app).notify

        def notify(message: str, **options) -> None:
            self.said.append(str(message))
            shown(app, message, **options)

        app.notify = notify  # type: ignore[method-assign]


@pytest.fixture
def till(tmp_path, key):
    till = Till(tmp_path, key)
    yield till
    till.close()


async def vendor_screen(pilot, till) -> VendorScreen:
    app = till.app
    await until(pilot, lambda: isinstance(app.screen, SignInScreen), "the sign-in screen")
    await signed_in_as(pilot, till, "Olive")
    await pilot.press("f3")
    screen = app.screen
    assert isinstance(screen, VendorScreen)
    return screen


def drawn(cell: object) -> str:
    """What the table draws for a cell."""
    shown = default_cell_formatter(cell)
    assert isinstance(shown, Text)
    return shown.plain


def toasts(app) -> list[str]:
    return [str(toast.render()) for toast in app.screen.query(Toast)]


async def test_names_like_markup_draw_as_typed_and_a_deal_saves_without_a_crash(tmp_path, key):
    till = Till(tmp_path, key, marked=True)
    try:
        await names_like_markup(till)
    finally:
        till.close()


async def names_like_markup(till):
    app = till.app
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        vendor = await vendor_screen(pilot, till)
        tabs = vendor.query_one(TabbedContent)
        expected = {
            "products": ("#product-table", "product0001", PRODUCT),
            "deals": ("#deal-table", "deal0000001", TITLE),
            "branches": ("#branch-table", "branch00001", BRANCH),
        }
        for tab, (table_id, row, name) in expected.items():
            tabs.active = tab
            await pilot.pause()
            table = vendor.query_one(table_id, DataTable)
            await until(pilot, lambda t=table: t.row_count > 0, f"the {tab}")
            assert drawn(table.get_row(row)[0]) == name
        branches = vendor.query_one("#branch-table", DataTable)
        assert drawn(branches.get_row_at(0)[1]) == ADDRESS

        # The deal: picked, its title kept as it was and added to; Enter saves it.
        tabs.active = "deals"
        await pilot.pause()
        vendor.query_one("#deal-table", DataTable).focus()
        await pilot.press("enter")
        title = vendor.query_one("#deal-title", Input)
        assert title.value == TITLE
        await pilot.press("end", *" [i]", "enter")
        await pilot.pause()
        assert (
            f"Saved the deal as '{TITLE} [i]'; it goes to the server with the next sync."
            in till.said
        )
        await until(pilot, lambda: toasts(app), "the notice")
        assert any(TITLE in toast for toast in toasts(app))
        deals = vendor.query_one("#deal-table", DataTable)
        await until(pilot, lambda: drawn(deals.get_row_at(0)[0]) == f"{TITLE} [i]", "the edit")

        # The product, picked and saved under its own name: the notice says it as typed.
        tabs.active = "products"
        await pilot.pause()
        products = vendor.query_one("#product-table", DataTable)
        products.focus()
        products.move_cursor(row=products.get_row_index("product0001"))
        await pilot.press("enter")
        assert vendor.query_one("#product-name", Input).value == PRODUCT
        form = str(vendor.query_one("#product-form-title").render())
        assert form.startswith(f"Editing {PRODUCT}:")
        await pilot.press("enter", "enter")
        await pilot.pause()
        assert any(said.startswith(f"Saved {PRODUCT} at £3.10") for said in till.said)
        assert any(PRODUCT in toast for toast in toasts(app))
    assert [e.type for e in till.store.pending()] == ["deal_edit", "product_edit"]


async def test_a_price_the_server_would_refuse_is_refused_here_in_words(till):
    app = till.app
    async with app.run_test(size=(120, 40)) as pilot:
        vendor = await vendor_screen(pilot, till)
        vendor.query_one("#product-name", Input).focus()
        await pilot.press(*"Cake", "enter", *"99999999999", "enter")
        assert till.said[-1] == (
            "Not saved: a price can be at most £100,000.00 (the server takes no more)."
        )
        assert till.store.pending() == []
        price = vendor.query_one("#product-price", Input)
        assert price.has_focus  # to type it again
        price.value = "100000.01"
        await pilot.press("enter")
        assert till.said[-1].startswith("Not saved: a price can be at most £100,000.00")
        assert till.store.pending() == []
        price.value = "100000"
        await pilot.press("enter")
        assert till.said[-1].startswith("Saved Cake at £100,000.00")
    (event,) = till.store.pending()
    assert event.payload["price_minor"] == 10_000_000


async def test_esc_cancels_a_product_edit_so_a_new_product_is_new(till):
    app = till.app
    async with app.run_test(size=(120, 40)) as pilot:
        vendor = await vendor_screen(pilot, till)
        table = vendor.query_one("#product-table", DataTable)
        table.focus()
        table.move_cursor(row=table.get_row_index("product0002"))
        await pilot.press("enter")  # picks Almond croissant
        name = vendor.query_one("#product-name", Input)
        assert name.value == "Almond croissant"
        assert vendor.editing is not None
        await pilot.press("escape")
        assert vendor.editing is None
        assert name.value == ""
        assert vendor.query_one("#product-price", Input).value == ""
        assert "New product" in str(vendor.query_one("#product-form-title").render())
        name.focus()
        await pilot.press(*"Scone", "enter", *"2.50", "enter")
        assert till.said[-1].startswith("Saved Scone at £2.50")
    (event,) = till.store.pending()
    assert event.payload["base_version"] is None  # a new product
    assert event.payload["product_id"] not in ("product0001", "product0002")


async def test_esc_cancels_a_branch_edit_and_a_deal_pick(till):
    app = till.app
    async with app.run_test(size=(120, 40)) as pilot:
        vendor = await vendor_screen(pilot, till)
        tabs = vendor.query_one(TabbedContent)
        tabs.active = "branches"
        await pilot.pause()
        vendor.query_one("#branch-table", DataTable).focus()
        await pilot.press("enter")
        assert vendor.query_one("#branch-name", Input).value == "High St"
        await pilot.press("escape")
        assert vendor.editing_branch is None
        assert vendor.query_one("#branch-name", Input).value == ""
        assert str(vendor.query_one("#branch-form-title").render()) == "Pick a branch to edit it."
        vendor.query_one("#branch-hours", Input).focus()
        await pilot.press(*"closed", "enter")
        assert till.said[-1] == "Pick a branch in the list first, then edit it."

        tabs.active = "deals"
        await pilot.pause()
        vendor.query_one("#deal-table", DataTable).focus()
        await pilot.press("enter")
        title = vendor.query_one("#deal-title", Input)
        assert title.value == "Two flat whites"
        await pilot.press("escape")
        assert title.value == ""
        title.focus()
        await pilot.press(*"Renamed", "enter")
        assert till.said[-1].startswith("Pick a deal")
    assert till.store.pending() == []


async def test_the_deal_title_takes_no_more_than_the_server(till):
    app = till.app
    async with app.run_test(size=(120, 40)) as pilot:
        vendor = await vendor_screen(pilot, till)
        vendor.query_one(TabbedContent).active = "deals"
        await pilot.pause()
        vendor.query_one("#deal-table", DataTable).focus()
        await pilot.press("enter")
        title = vendor.query_one("#deal-title", Input)
        title.value = ""
        await pilot.press(*("x" * 130))
        assert title.value == "x" * 120
        for field, most in (("#product-name", 120), ("#branch-name", 120)):
            assert vendor.query_one(field, Input).max_length == most
