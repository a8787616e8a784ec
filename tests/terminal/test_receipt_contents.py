"""What a receipt says: the shop, the till, who, when, the reference, how it was decided and
what the screen said; as text and as the bytes an ESC/POS printer gets."""

from datetime import UTC, datetime

from escpos.printer import Dummy

from hardware import EscposPrinter, render_text
from sync.money import Money
from sync.tokens import Kind
from terminal.core.kinds import Mode
from terminal.core.presented import Presented
from terminal.core.receipts import Shop, receipt_for
from terminal.core.till import Verdict

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
SHOP = Shop("Corner Café", "High Street", "Till 2")


def card(balance_after: int = 3750) -> tuple[Verdict, Presented, Money]:
    presented = Presented("TP1:x", Kind.GIFT_CARD, "card0000a1b2c3", "GBP", None, None)
    verdict = Verdict(
        True,
        Mode.ONLINE,
        "Approved by the server.",
        Money.of(balance_after, "GBP"),
        "card0000a1b2c3",
        operation_id="op-7f3a",
    )
    return verdict, presented, Money.of(1250, "GBP")


def test_a_card_receipt_names_the_shop_till_cashier_time_reference_and_amounts():
    text = render_text(receipt_for(*card(), SHOP, NOW))
    lines = text.splitlines()
    assert lines[0].strip() == "Corner Café"
    for expected in (
        "Branch               High Street",
        "Till                      Till 2",
        "Cashier                   Till 2",  # nobody signed in: the till stands in
        "Gift card                …a1b2c3",
        "Redeemed                  £12.50",
        "Balance left              £37.50",
        "Approved online",
        "Ref op-7f3a",
    ):
        assert expected in lines, expected
    assert f"Date            {NOW.astimezone():%Y-%m-%d %H:%M}" in lines


def test_a_signed_in_cashier_is_named():
    shop = Shop("Corner Café", None, "Till 2", cashier="Sam")
    assert "Cashier                      Sam" in render_text(receipt_for(*card(), shop, NOW))


def test_a_voucher_receipt_says_what_to_hand_over_and_an_offline_reference():
    presented = Presented("TP1:v", Kind.VOUCHER, "vouch0zSNSPE", "GBP", None, Money.of(340, "GBP"))
    verdict = Verdict(
        True,
        Mode.OFFLINE,
        "Voucher accepted offline.",
        Money.of(340, "GBP"),
        "vouch0zSNSPE",
        operation_id="event-42",
        deal_title="Two flat whites",
    )
    text = render_text(receipt_for(verdict, presented, Money.of(340, "GBP"), SHOP, NOW))
    assert "Hand over        Two flat whites" in text.splitlines()
    assert "Approved offline" in text
    assert "Ref event-42" in text
    assert "Balance left" not in text


def test_the_printer_gets_the_same_words_and_a_qr_code_of_the_reference():
    device = Dummy()
    EscposPrinter(device).print_receipt(receipt_for(*card(), SHOP, NOW))
    output = device.output
    for words in (b"Corner Caf\x82", b"High Street", b"Till 2", b"Ref op-7f3a", b"37.50"):
        assert words in output
    assert b"\x1d(k\x0a\x001P0op-7f3a" in output  # GS ( k: store the reference as a QR code
