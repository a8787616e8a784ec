"""Receipts through python-escpos's dummy and file printers, and as plain text."""

import pytest
from escpos.printer import Dummy

from hardware import EscposPrinter, PrinterError, Receipt, open_printer, render_text

RECEIPT = Receipt(
    "Corner Café",
    [("Gift card", "…a1b2c3d4"), ("Redeemed", "£12.50"), ("Balance left", "£37.50")],
    heading="Gift card redeemed",
    footer=["Approved online", "2026-11-22 12:00"],
)


def test_plain_text_lines_up_labels_and_amounts():
    text = render_text(RECEIPT, width=32)
    lines = text.splitlines()
    assert lines[0].strip() == "Corner Café"
    assert "Redeemed                  £12.50" in lines
    assert "Balance left              £37.50" in lines
    assert all(len(line) <= 32 for line in lines)


def test_a_label_too_long_for_the_paper_wraps_and_keeps_the_amount():
    text = render_text(Receipt("Shop", [("A very long label " * 3, "£1.00")]), width=20)
    assert all(len(line) <= 20 for line in text.splitlines())
    assert text.splitlines()[-1] == "£1.00".rjust(20)


def test_the_escpos_dummy_printer_gets_the_receipt_and_a_cut():
    device = Dummy()
    EscposPrinter(device).print_receipt(RECEIPT)
    output = device.output
    assert b"Redeemed" in output
    assert b"Gift card redeemed" in output
    assert output.endswith(b"\x1dV\x00")  # GS V 0: full cut


def test_a_file_printer_writes_escpos_bytes_to_the_device(tmp_path):
    device = tmp_path / "lp0"
    open_printer(f"file:{device}").print_receipt(RECEIPT)
    data = device.read_bytes()
    assert b"Balance left" in data
    assert data.startswith(b"\x1b")  # ESC: printer commands, not plain text


def test_a_text_printer_appends_receipts(tmp_path):
    path = tmp_path / "receipts.txt"
    printer = open_printer(f"text:{path}")
    printer.print_receipt(RECEIPT)
    printer.print_receipt(RECEIPT)
    assert path.read_text().count("Gift card redeemed") == 2


@pytest.mark.parametrize("spec", ["laser:1", "usb:zz:01", "network", "text:"])
def test_a_printer_spec_that_makes_no_sense_says_how_to_write_one(spec):
    with pytest.raises(PrinterError, match=r"usb:|hex"):
        open_printer(spec)


def test_a_printer_that_fails_says_to_check_it():
    class Jammed(Dummy):  # type: ignore[misc]
        def cut(self, *args, **kwargs):
            raise OSError("no paper")

    with pytest.raises(PrinterError, match="check it is on, has paper"):
        EscposPrinter(Jammed()).print_receipt(RECEIPT)


def test_the_escpos_bytes_carry_the_receipt_and_a_qr_code_of_the_reference():
    device = Dummy()
    receipt = Receipt(
        "Corner Café",
        [("Redeemed", "£12.50")],
        heading="Gift card redeemed",
        footer=["Ref AB12"],
        qr="AB12",
    )
    EscposPrinter(device).print_receipt(receipt)
    assert device.output == (
        # the business: centred, bold, double height (CP437: é is 0x82)
        b"\x1b!\x00\x1b!\x00\x1b!\x10\x1bE\x01\x1ba\x01\x1bt\x00Corner Caf\x82\n"
        # the heading, normal size
        b"\x1b!\x00\x1b!\x00\x1b!\x00\x1bE\x00\x1ba\x01Gift card redeemed\n"
        # the lines, left aligned (£ is 0x9c)
        b"\x1ba\x00--------------------------------\n"
        b"Redeemed                  \x9c12.50\n"
        b"--------------------------------\n"
        b"Ref AB12\n"
        # the QR code, centred, drawn by the printer (GS ( k): model 2, size 4, level L
        b"\x1ba\x01\x1d(k\x04\x001A2\x00\x1d(k\x03\x001C\x04\x1d(k\x03\x001E0"
        b"\x1d(k\x07\x001P0AB12\x1d(k\x03\x001Q0"
        # then feed and a full cut
        b"\x1ba\x00\x1bd\x06\x1dV\x00"
    )


def test_a_receipt_without_a_reference_prints_no_qr_code():
    device = Dummy()
    EscposPrinter(device).print_receipt(RECEIPT)
    assert b"\x1d(k" not in device.output
