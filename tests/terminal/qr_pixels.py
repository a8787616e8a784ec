"""A QR code drawn in half blocks, back to pixels (dark modules black on white, as the
screen shows it), for a decoder to read."""

import numpy as np

SCALE = 8  # pixels a module


def pixels(drawn: str) -> np.ndarray:
    rows: list[list[bool]] = []
    for line in drawn.splitlines():
        rows.append([char in "▀█" for char in line])
        rows.append([char in "▄█" for char in line])
    dark = np.array(rows, dtype=bool)
    image = np.where(dark, 0, 255).astype(np.uint8)
    image = np.kron(image, np.ones((SCALE, SCALE), dtype=np.uint8))
    return np.pad(image, 4 * SCALE, constant_values=255)
