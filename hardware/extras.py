"""What the optional [hardware] extra brings: OpenCV, the QR decoders and python-escpos.

A terminal installed without it still starts (a USB scanner and typed codes need none of
these); asking for a camera or an ESC/POS printer then says what to install."""

from __future__ import annotations

__all__ = ["INSTALL", "needs"]

INSTALL = "pip install 'tillpoint[hardware]'"


def needs(what: str, exc: ImportError) -> str:
    """The message for `what` (e.g. "a camera") when its package is missing."""
    return f"{what} needs {exc.name or 'a package'}, which is not installed: {INSTALL}"
