"""After APPROVED the receipt waits for the cashier (Enter prints, Esc skips): the camera
seeing the same card again does not end it, and F8 (or P in the history) prints a receipt
that was never printed as the original, not as a COPY, even after the till was closed and
opened again."""

from __future__ import annotations

import time

import pytest

from terminal.app.messages import ScanSource
from terminal.app.screens.history import HistoryScreen
from terminal.app.screens.scan import Step
from tests.terminal.test_roles_app import until
from tests.terminal.test_scan_offer import card, scan_screen
from tests.terminal.test_till_offline import card_token

pytestmark = pytest.mark.anyio


async def approved(pilot, counter, key, card_id, amount: str = "4.20"):
    scan = await scan_screen(pilot, counter)
    scan.take_code(card_token(key, card_id), ScanSource.CAMERA)
    assert scan.step.name == "AMOUNT"
    await pilot.press(*amount, "enter")
    await until(pilot, lambda: scan.step is Step.RECEIPT, "the approval")
    return scan


async def test_the_same_card_in_view_does_not_take_the_receipt_away(counter, key):
    card_id = card(counter, 2500)
    async with counter.app.run_test(size=(80, 24)) as pilot:
        scan = await approved(pilot, counter, key, card_id)
        scan.hold_until = time.monotonic() - 1  # long after the verdict's hold
        # The customer's phone is still in front of the camera (a fresh code, same card).
        scan.take_code(card_token(key, card_id), ScanSource.CAMERA)
        scan.take_code(card_token(key, card_id), ScanSource.CAMERA)
        assert scan.step.name == "RECEIPT"
        assert scan.verdict_text.startswith("✔ APPROVED (offline)")
        await pilot.press("enter")
        assert scan.step.name == "IDLE"
    printed = (counter.data.parent / "receipts.txt").read_text()
    assert "Redeemed" in printed
    assert "COPY" not in printed


async def test_another_card_ends_the_receipt_step_only_after_the_hold(counter, key):
    card_id, other = card(counter, 2500), card(counter, 1000)
    async with counter.app.run_test(size=(80, 24)) as pilot:
        scan = await approved(pilot, counter, key, card_id)
        scan.hold_until = time.monotonic() + 60  # the verdict is still being read
        scan.take_code(card_token(key, other), ScanSource.CAMERA)
        assert scan.step.name == "RECEIPT"
        scan.hold_until = time.monotonic() - 1
        scan.take_code(card_token(key, other), ScanSource.CAMERA)
        assert scan.step.name == "AMOUNT"  # the next customer's card


async def test_a_usb_scan_or_typed_code_ends_the_receipt_step_at_once(counter, key):
    card_id = card(counter, 2500)
    async with counter.app.run_test(size=(80, 24)) as pilot:
        scan = await approved(pilot, counter, key, card_id)
        scan.take_code(card_token(key, card_id), ScanSource.USB_SCANNER)
        assert scan.step.name == "AMOUNT"  # deliberate: the same card, served again
        await pilot.press("escape")
        scan = await approved(pilot, counter, key, card_id, "1")
        await pilot.press(*"hello", "enter")  # typed: a code, not "print"
        assert scan.verdict_text.startswith("✘ NOT ACCEPTED")
    assert not (counter.data.parent / "receipts.txt").exists()


async def test_f8_prints_a_receipt_never_printed_as_the_original_then_copies(counter, key):
    card_id, other = card(counter, 2500), card(counter, 1000)
    receipts = counter.data.parent / "receipts.txt"
    async with counter.app.run_test(size=(80, 24)) as pilot:
        scan = await approved(pilot, counter, key, card_id)
        scan.hold_until = time.monotonic() - 1
        scan.take_code(card_token(key, other), ScanSource.CAMERA)  # the receipt is gone
        await pilot.press("escape")
        await pilot.press("f8")
        first = receipts.read_text()
        assert "Redeemed" in first
        assert "£4.20" in first
        assert "COPY" not in first
        assert "Printed the last receipt." in counter.said
        await pilot.press("f8")
        again = receipts.read_text()[len(first) :]
        assert "(COPY)" in again
        assert "£4.20" in again


async def test_p_in_the_history_prints_a_skipped_receipt_as_the_original(counter, key):
    card_id = card(counter, 2500)
    receipts = counter.data.parent / "receipts.txt"
    async with counter.app.run_test(size=(80, 24)) as pilot:
        await approved(pilot, counter, key, card_id)
        await pilot.press("escape")  # skipped
        await pilot.press("f2")
        assert isinstance(counter.app.screen, HistoryScreen)
        await pilot.press("p")
        first = receipts.read_text()
        assert "£4.20" in first
        assert "COPY" not in first
        await pilot.press("p")
        assert "(COPY)" in receipts.read_text()[len(first) :]


async def test_a_receipt_never_printed_is_still_the_original_after_a_restart(counter, key):
    card_id = card(counter, 2500)
    receipts = counter.data.parent / "receipts.txt"
    async with counter.app.run_test(size=(80, 24)) as pilot:
        await approved(pilot, counter, key, card_id)
        await pilot.press("escape")  # skipped
    counter.restart()
    async with counter.app.run_test(size=(80, 24)) as pilot:
        await scan_screen(pilot, counter)
        await pilot.press("f8")
        first = receipts.read_text()
        assert "£4.20" in first
        assert "COPY" not in first
    counter.restart()
    async with counter.app.run_test(size=(80, 24)) as pilot:
        await scan_screen(pilot, counter)
        await pilot.press("f8")
        assert "(COPY)" in receipts.read_text()[len(first) :]


async def test_a_printed_receipt_reprints_as_a_copy_after_a_restart(counter, key):
    card_id = card(counter, 2500)
    receipts = counter.data.parent / "receipts.txt"
    async with counter.app.run_test(size=(80, 24)) as pilot:
        await approved(pilot, counter, key, card_id)
        await pilot.press("enter")  # printed
    first = receipts.read_text()
    assert "COPY" not in first
    counter.restart()
    async with counter.app.run_test(size=(80, 24)) as pilot:
        await scan_screen(pilot, counter)
        await pilot.press("f2")
        assert isinstance(counter.app.screen, HistoryScreen)
        await pilot.press("p")
        assert "(COPY)" in receipts.read_text()[len(first) :]
