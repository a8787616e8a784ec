"""The shop in a real browser after a purchase: the customer presses Back and Pay again.

The shop page is never cached (no-store), so Back fetches it again with a new one-time
token, and Chromium restores what was typed into it. The card number is not restored (its
field's name is new on each page load), and the page says what was bought a moment ago, so
pressing Pay again charges nothing: paying again takes typing the card again, deliberately.
Debian's Chromium under Playwright, with JavaScript and without."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import migrated_server, signed_in

SCREENSHOTS = Path(__file__).parent.parent.parent / "build" / "screenshots"


@pytest.fixture
def server(tmp_path) -> Iterator[tuple[str, Path]]:
    path = tmp_path / "server.db"
    with migrated_server(f"sqlite:///{path}", tmp_path / "data") as base:
        yield base, path


def purchases(database: Path) -> list[int]:
    """The amounts of the gift cards bought so far, as the server's database has them."""
    with sqlite3.connect(database) as db:
        return [amount for (amount,) in db.execute("SELECT amount_minor FROM gifts ORDER BY 1")]


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_back_then_pay_again_charges_nothing_more(browser, server, javascript):
    base, database = server
    owner = signed_in(base, "vendor")
    cafe = httpx.post(
        f"{base}/api/v1/businesses",
        headers=owner,
        json={"name": "Corner Café", "category": "cafe", "currency": "GBP"},
    ).json()
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, java_script_enabled=javascript
    )
    page = context.new_page()
    page.goto(f"{base}/shop/{cafe['id']}")
    page.get_by_label("Amount (GBP)").fill("21")
    page.get_by_label("Your email", exact=True).fill("back@example.com")
    page.get_by_label("Payment card number").fill("4242424242424242")
    page.get_by_role("button", name="Pay and send the card").click()
    page.get_by_role("heading", name="Thank you: your card is bought").wait_for()
    assert purchases(database) == [2100]

    page.go_back()
    page.get_by_role("heading", name="Corner Café gift cards").wait_for()
    assert page.get_by_label("Amount (GBP)").input_value() == "21"  # the browser restored it
    assert page.get_by_label("Payment card number").input_value() == ""  # but not the card
    bought = page.get_by_role("status")
    assert "You bought a £21.00 Corner Café gift card a moment ago" in bought.inner_text()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "shop-after-back-phone.png"), full_page=True)

    page.get_by_role("button", name="Pay and send the card").click()  # pressed again
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Corner Café gift cards").is_visible()
    assert page.get_by_label("Payment card number").evaluate("input => input.validity.valueMissing")
    assert purchases(database) == [2100]  # one payment

    # Typing the card again is a deliberate second purchase.
    page.get_by_label("Payment card number").fill("4242424242424242")
    page.get_by_role("button", name="Pay and send the card").click()
    page.get_by_role("heading", name="Thank you: your card is bought").wait_for()
    assert purchases(database) == [2100, 2100]
    context.close()
