"""QR code images of a token, as the customer's app shows them (PNG and SVG)."""

from __future__ import annotations

import io

import qrcode
import qrcode.constants
from qrcode.image.pure import PyPNGImage
from qrcode.image.svg import SvgPathImage

__all__ = ["qr_png", "qr_svg"]


def _code(text: str) -> qrcode.QRCode:  # type: ignore[type-arg]
    # Error correction M: a 220-character token fits version 8 and scans from a screen.
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=4)
    code.add_data(text)
    code.make(fit=True)
    return code


def qr_png(text: str) -> bytes:
    out = io.BytesIO()
    _code(text).make_image(image_factory=PyPNGImage).save(out)
    return out.getvalue()


def qr_svg(text: str) -> bytes:
    out = io.BytesIO()
    _code(text).make_image(image_factory=SvgPathImage).save(out)
    return out.getvalue()
