"""Receipts: on an ESC/POS printer through python-escpos, or as plain text.

A `Receipt` is already in words (amounts formatted by the caller), so a printer only lays it
out. `open_printer` takes what an operator writes in the settings:

    usb:04b8:0202            a USB printer by vendor:product id (hex)
    network:192.168.1.50     a network printer (port 9100 unless given: host:port)
    serial:/dev/ttyUSB0      a serial printer (9600 baud unless given: device:baud)
    file:/dev/usb/lp0        a printer device file, written raw
    text:receipts.txt        no printer: receipts appended to a text file
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from .extras import needs

__all__ = [
    "EscposPrinter",
    "PrinterError",
    "PrinterKind",
    "Receipt",
    "ReceiptPrinter",
    "TextPrinter",
    "open_printer",
    "render_text",
]


class PrinterKind(StrEnum):
    """The first part of a printer setting, before the colon."""

    USB = "usb"
    NETWORK = "network"
    SERIAL = "serial"
    FILE = "file"
    TEXT = "text"


WIDTH = 32  # characters on a line of 58 mm paper in the default font


@dataclass(frozen=True)
class Receipt:
    title: str  # the business
    lines: list[tuple[str, str]]  # label, value
    heading: str = ""  # e.g. "Gift card redeemed"
    footer: list[str] = field(default_factory=list)
    qr: str | None = None  # printed as a QR code on ESC/POS (e.g. the reference)


class PrinterError(Exception):
    """The printer could not be reached or configured; the message says what to do."""


class ReceiptPrinter(Protocol):
    def print_receipt(self, receipt: Receipt) -> None: ...


def render_text(receipt: Receipt, width: int = WIDTH) -> str:
    """The receipt as plain text, `width` characters wide."""
    out = [receipt.title.center(width).rstrip()]
    if receipt.heading:
        out.append(receipt.heading.center(width).rstrip())
    out.append("-" * width)
    for label, value in receipt.lines:
        out.extend(_pair(label, value, width))
    if receipt.footer:
        out.append("-" * width)
        for line in receipt.footer:
            out.extend(textwrap.wrap(line, width) or [""])
    return "\n".join(out) + "\n"


def _pair(label: str, value: str, width: int) -> list[str]:
    """`label ....... value` on one line when it fits, else the value on its own line."""
    if len(label) + len(value) + 1 <= width:
        return [label + " " * (width - len(label) - len(value)) + value]
    return [*textwrap.wrap(label, width), value.rjust(width)]


class TextPrinter:
    """No printer: each receipt is appended to a text file, separated by a blank line."""

    def __init__(self, path: Path, width: int = WIDTH) -> None:
        self.path = path
        self.width = width

    def print_receipt(self, receipt: Receipt) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as out:
                out.write(render_text(receipt, self.width) + "\n")
        except OSError as exc:
            raise PrinterError(f"could not write the receipt to {self.path}: {exc}") from exc


class EscposPrinter:
    """Any python-escpos printer: USB, network, serial, a device file, or its Dummy."""

    def __init__(self, device: Any, width: int = WIDTH) -> None:
        self.device = device
        self.width = width

    def print_receipt(self, receipt: Receipt) -> None:
        device = self.device
        try:
            device.set(align="center", bold=True, double_height=True)
            device.textln(receipt.title)
            device.set(align="center", bold=False, normal_textsize=True)
            if receipt.heading:
                device.textln(receipt.heading)
            device.set(align="left")
            body = render_text(Receipt("", receipt.lines, footer=receipt.footer), self.width)
            device.text(body.split("\n", 1)[1])  # everything under the (empty) title line
            if receipt.qr:
                # Drawn by the printer itself (GS ( k): the bytes carry the text, no image.
                device.set(align="center")
                device.qr(receipt.qr, size=4, native=True)
                device.set(align="left")
            device.cut()
        except Exception as exc:  # python-escpos raises its own, USB and OS errors alike
            raise PrinterError(
                f"the receipt printer failed ({exc}): check it is on, has paper, and is connected"
            ) from exc


def open_printer(spec: str, width: int = WIDTH) -> ReceiptPrinter:
    name, _, target = spec.partition(":")
    if not target or name not in {kind.value for kind in PrinterKind}:
        raise PrinterError(_usage(spec))
    kind = PrinterKind(name)
    if kind is PrinterKind.TEXT:
        return TextPrinter(Path(target), width)
    try:
        device = _escpos_device(kind, target)
    except PrinterError:
        raise
    except Exception as exc:
        raise PrinterError(f"could not open the printer {spec!r}: {exc}") from exc
    return EscposPrinter(device, width)


def _escpos_device(kind: PrinterKind, target: str) -> Any:
    try:
        from escpos import printer as escpos_printer
    except ImportError as exc:
        raise PrinterError(needs("an ESC/POS printer", exc)) from None
    if kind is PrinterKind.USB:
        vendor, _, product = target.partition(":")
        try:
            return escpos_printer.Usb(int(vendor, 16), int(product, 16))
        except ValueError:
            raise PrinterError(
                f"usb:{target}: give vendor:product in hex, e.g. usb:04b8:0202"
            ) from None
    if kind is PrinterKind.NETWORK:
        host, _, port = target.partition(":")
        return escpos_printer.Network(host, int(port or 9100), timeout=5)
    if kind is PrinterKind.SERIAL:
        device, _, baud = target.partition(":")
        return escpos_printer.Serial(device, baudrate=int(baud or 9600))
    return escpos_printer.File(target)


def _usage(spec: str) -> str:
    return (
        f"{spec!r} is not a printer: write usb:VENDOR:PRODUCT, network:HOST[:PORT], "
        "serial:DEVICE[:BAUD], file:PATH or text:PATH"
    )
