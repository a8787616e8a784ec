"""Cameras, QR decoding, USB/HID scanners and receipt printers. Imports nothing of ours."""

from .camera import (
    IMAGE_SUFFIXES,
    CameraError,
    CaptureSource,
    Frame,
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
    Receipt,
    ReceiptPrinter,
    TextPrinter,
    open_printer,
    render_text,
)
from .scanner import Cooldown, Scanner, Sighting

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
