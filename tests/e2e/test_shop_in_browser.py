"""The gift-card shop in a real browser: the real server (uvicorn on 127.0.0.1) with its own
notifications worker mailing a real SMTP server on loopback, Playwright driving Debian's
Chromium at a phone's width. Buy a card on a café's shop page (a declined card first, said
on the form, charging nothing), read its email with the QR code, check its balance by the
email's code, see a signed-in customer's cards, and spend the card at a paired till
(`tillpoint redeem`)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from server.wallet.qr_images import qr_png
from tests.e2e.conftest import (
    PASSWORD,
    migrated_server,
    paired_terminal,
    signed_in,
    tillpoint_run,
)
from tests.e2e.test_account_flows import mailbox, text_of  # noqa: F401 - a fixture
from tests.e2e.test_gifts import eventually
from tests.e2e.test_headless_till import run_json

CODE = re.compile(r"\b([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})\b")
TOKEN = re.compile(r"the till can take its text: (.+?)\r?$", re.MULTILINE)
SCREENSHOTS = Path(__file__).parent.parent.parent / "build" / "screenshots"


@pytest.fixture
def server(tmp_path, mailbox) -> Iterator[str]:  # noqa: F811 - the fixture
    env = {
        "TILLPOINT_SMTP_HOST": "127.0.0.1",
        "TILLPOINT_SMTP_PORT": str(mailbox[1]),
        "TILLPOINT_NOTIFICATIONS_INTERVAL_SECONDS": "0.2",
    }
    database = f"sqlite:///{tmp_path / 'server.db'}"
    with migrated_server(database, tmp_path / "data", env=env) as base:
        yield base


def test_a_card_bought_in_the_shop_is_emailed_and_spent_at_the_till(
    browser,
    server,
    mailbox,  # noqa: F811 - the fixture
    tmp_path,
):
    box = mailbox[0]
    owner = signed_in(server, "vendor")
    cafe = httpx.post(
        f"{server}/api/v1/businesses",
        headers=owner,
        json={"name": "Corner Café", "category": "cafe", "currency": "GBP"},
    ).json()

    context = browser.new_context(viewport={"width": 390, "height": 844})  # a phone
    page = context.new_page()
    page.goto(f"{server}/shop/{cafe['id']}")
    page.get_by_role("heading", name="Corner Café gift cards").wait_for()
    page.get_by_label("Amount (GBP)").fill("25")
    page.get_by_role("radio", name="Me", exact=True).check()
    page.get_by_label("Your email", exact=True).fill("pat@example.com")
    page.get_by_label("Your name", exact=True).fill("Pat")
    page.get_by_label("Payment card number").fill("4000 0000 0000 0002")  # a declined card
    page.get_by_role("button", name="Pay and send the card").click()
    assert "The card was declined: use another card." in page.get_by_role("alert").inner_text()
    assert page.get_by_label("Your email", exact=True).input_value() == "pat@example.com"  # kept

    page.get_by_label("Payment card number").fill("4242 4242 4242 4242")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "shop-phone.png"), full_page=True)
    page.get_by_role("button", name="Pay and send the card").click()
    page.get_by_role("heading", name="Thank you: your card is bought").wait_for()
    assert "You paid £25.00" in page.get_by_role("status").inner_text()
    page.screenshot(path=str(SCREENSHOTS / "shop-bought-phone.png"), full_page=True)

    def cards() -> int:
        return len([m for m in box.messages if "gift card" in str(m["Subject"])])

    assert eventually(cards, 1) == 1  # one card, though the first card was declined
    (email,) = [m for m in box.messages if "gift card" in str(m["Subject"])]
    assert email["To"] == "pat@example.com"
    text = text_of(email)
    token, code = TOKEN.search(text), CODE.search(text)
    assert token is not None, text
    assert code is not None, text
    images = [p for p in email.walk() if p.get_content_type() == "image/png"]
    assert [bytes(p.get_content()) for p in images] == [qr_png(token[1])]

    page.get_by_role("link", name="Check a card's balance").first.click()
    page.get_by_label("The code from your gift email").fill(code[1])
    page.get_by_role("button", name="Check the balance").click()
    assert page.locator("#balance").inner_text() == "£25.00"

    # A customer with an account signs in and sees the cards in it.
    customer = signed_in(server, "customer", "kim@example.com")
    bought = httpx.post(
        f"{server}/api/v1/businesses/{cafe['id']}/gift-cards",
        headers={**customer, "Idempotency-Key": "kim-1"},
        json={"amount_minor": 1500, "payment": {"card_number": "5555555555554444"}},
    )
    assert bought.status_code == 201, bought.text
    page.get_by_role("link", name="Your cards").click()
    page.get_by_label("Email").fill("kim@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    row = page.get_by_role("row").filter(has_text="Corner Café")
    assert "£15.00" in row.inner_text()
    page.screenshot(path=str(SCREENSHOTS / "shop-my-cards-phone.png"), full_page=True)
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="Sign in to see your cards").wait_for()
    context.close()

    data = tmp_path / "till.db"
    store, _ = paired_terminal(server, owner, cafe["id"], data, "Till 1")
    store.close()
    assert tillpoint_run("sync", "--data", str(data)).returncode == 0
    status, redeemed = run_json("redeem", token[1], "--amount", "4.20", "--data", str(data))
    assert status == 0, redeemed
    assert (redeemed["approved"], redeemed["balance_after"]["text"]) == (True, "£20.80")
