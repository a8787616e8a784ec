"""QR code images of a token, as the customer's app shows them (PNG and SVG)."""

from __future__ import annotations

import io

import qrcode
import qrcode.constants
from fastapi import Response
from qrcode.image.pure import PyPNGImage
from qrcode.image.svg import SvgPathImage

__all__ = ["qr_png", "qr_response", "qr_svg"]


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


def qr_response(text: str, *, svg: bool) -> Response:
    """The code as an image answer; not cached, since it is the holder's to show."""
    if svg:
        return Response(
            qr_svg(text), media_type="image/svg+xml", headers={"Cache-Control": "no-store"}
        )
    return Response(qr_png(text), media_type="image/png", headers={"Cache-Control": "no-store"})
