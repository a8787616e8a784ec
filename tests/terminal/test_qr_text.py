"""The pairing code's QR code drawn in text: a camera reads back what it carries, and it
fits beside the till list at 80×24."""

import pytest

from hardware import QrDecoder
from terminal.core.qr_text import half_blocks
from tests.terminal.qr_pixels import pixels


@pytest.mark.parametrize("text", ["TPPAIR:K7Q2-M9XA", "TPPAIR:ABCD-2345"])
def test_the_drawn_code_reads_back(text):
    assert QrDecoder().decode(pixels(half_blocks(text))).codes == (text,)


def test_a_pairing_code_fits_an_80_by_24_screen():
    lines = half_blocks("TPPAIR:K7Q2-M9XA").splitlines()
    assert (len(lines), {len(line) for line in lines}) == (13, {25})
