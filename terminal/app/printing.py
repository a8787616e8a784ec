"""Printing a receipt from any screen: the printer's trouble in words, never a crash."""

from __future__ import annotations

from textual.widget import Widget

from hardware import PrinterError, Receipt

from .base import tillpoint

__all__ = ["print_receipt"]


def print_receipt(widget: Widget, receipt: Receipt, said: str) -> bool:
    """Print `receipt` on the app's printer and say `said`; False, saying why, when the
    printer could not."""
    try:
        tillpoint(widget).printer.print_receipt(receipt)
    except PrinterError as exc:
        widget.notify(f"{exc}", severity="error", timeout=8, markup=False)
        return False
    widget.notify(said, markup=False)
    return True
