"""A QR code drawn in text with Unicode half blocks: two rows of modules to a line, so a
short code (a pairing code's `TPPAIR:K7Q2-M9XA`, version 1, 21 modules and a quiet zone)
takes 25 columns and 13 lines and fits an 80×24 terminal beside other things.

A block stands for a dark module: shown dark on light (the screen styles it so), the
camera of the till being paired reads it as it reads a printed code."""

from __future__ import annotations

import qrcode
from qrcode.constants import ERROR_CORRECT_M

__all__ = ["QUIET_ZONE", "half_blocks", "modules"]

QUIET_ZONE = 2  # modules of light margin: enough for a code drawn on a light background

_BLOCKS = {(False, False): " ", (True, False): "▀", (False, True): "▄", (True, True): "█"}


def modules(text: str) -> list[list[bool]]:
    """The code's modules, True for dark, with the quiet zone around them."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=1, border=QUIET_ZONE)
    code.add_data(text)
    code.make(fit=True)
    return [[bool(dark) for dark in row] for row in code.get_matrix()]


def half_blocks(text: str) -> str:
    """The QR code of `text`, one line per two rows of modules."""
    rows = modules(text)
    if len(rows) % 2:
        rows.append([False] * len(rows[0]))
    return "\n".join(
        "".join(_BLOCKS[top, bottom] for top, bottom in zip(upper, lower, strict=True))
        for upper, lower in zip(rows[::2], rows[1::2], strict=True)
    )
