"""Cameras, QR decoding, USB/HID scanners and receipt printers. Imports nothing of ours.

OpenCV, numpy, the QR decoders and python-escpos (the [hardware] extra) are imported only
when a camera, a decoder or an ESC/POS printer is used, so a terminal without them starts
and works with a USB scanner and typed codes."""

from typing import TYPE_CHECKING, Any

from .camera import (
    IMAGE_SUFFIXES,
    CameraError,
    CaptureSource,
    FrameSource,
    ImageSource,
    ScriptedSource,
    open_source,
)
from .decoder import Decoded, QrDecoder
from .hid import KeystrokeAssembler
from .receipt import (
    EscposPrinter,
    PrinterError,
    PrinterKind,
    Receipt,
    ReceiptPrinter,
    TextPrinter,
    open_printer,
    render_text,
)
from .scanner import Cooldown, Scanner, Sighting

if TYPE_CHECKING:
    from .camera import Frame

__all__ = [
    "IMAGE_SUFFIXES",
    "CameraError",
    "CaptureSource",
    "Cooldown",
    "Decoded",
    "EscposPrinter",
    "Frame",
    "FrameSource",
    "ImageSource",
    "KeystrokeAssembler",
    "PrinterError",
    "PrinterKind",
    "QrDecoder",
    "Receipt",
    "ReceiptPrinter",
    "Scanner",
    "ScriptedSource",
    "Sighting",
    "TextPrinter",
    "open_printer",
    "open_source",
    "render_text",
]


def __getattr__(name: str) -> Any:
    if name == "Frame":  # needs numpy: see camera.py
        from . import camera

        return camera.Frame
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
