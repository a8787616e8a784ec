"""Camera frames we render ourselves: a code on a counter, as a webcam might see it.

The demo's sample camera feed, the scanner tests and bench/scanner.py use these, so the code
that reads a real webcam is exercised without one. Every distortion is seeded: the same call
gives the same frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import qrcode
from qrcode.constants import ERROR_CORRECT_M

from .camera import Frame

__all__ = ["Look", "code_image", "frame_with_codes"]


@dataclass(frozen=True)
class Look:
    """How a code appears in the frame."""

    size: float = 0.5  # the code's side as a share of the frame's height
    angle: float = 0.0  # degrees, in the image plane
    tilt: float = 0.0  # perspective: 0 flat, 0.3 strongly tilted away
    blur: int = 0  # Gaussian kernel size (odd), 0 for sharp
    noise: float = 0.0  # standard deviation of sensor noise, in grey levels
    light: float = 1.0  # 1 well lit, 0.3 dim
    seed: int = 0


def code_image(text: str, module_px: int = 8) -> Frame:
    """A QR code as a grey image with its quiet zone, `module_px` pixels a module."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=1, border=4)
    code.add_data(text)
    code.make(fit=True)
    modules = np.array(code.get_matrix(), dtype=np.uint8)
    image = np.where(modules, 0, 255).astype(np.uint8)
    return np.kron(image, np.ones((module_px, module_px), dtype=np.uint8))


def frame_with_codes(
    texts: Sequence[str], width: int = 640, height: int = 480, look: Look | None = None
) -> Frame:
    """A BGR frame of a grey counter with the codes side by side, all seen the same way."""
    look = look or Look()
    rng = np.random.default_rng(look.seed)
    frame = np.full((height, width), 150, dtype=np.float32)
    frame += rng.normal(0, 6, (height, width)).astype(np.float32)  # the counter's texture
    slot = width / max(len(texts), 1)
    side = int(min(height * look.size, slot * 0.9))
    for index, text in enumerate(texts):
        image = cv2.resize(code_image(text), (side, side), interpolation=cv2.INTER_AREA)
        centre = (slot * (index + 0.5), height / 2)
        _paste(frame, image.astype(np.float32), centre, look)
    if look.blur:
        kernel = (look.blur | 1, look.blur | 1)
        frame = np.asarray(cv2.GaussianBlur(frame, kernel, 0), dtype=np.float32)
    frame *= look.light
    if look.noise:
        frame += rng.normal(0, look.noise, frame.shape).astype(np.float32)
    grey = np.clip(frame, 0, 255).astype(np.uint8)
    return np.asarray(cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR), dtype=np.uint8)


def _paste(frame: np.ndarray, image: np.ndarray, centre: tuple[float, float], look: Look) -> None:
    """Warp `image` onto `frame` around `centre`: rotated by the angle, tilted by the tilt."""
    side = image.shape[0]
    half = side / 2
    corners = np.array([[-half, -half], [half, -half], [half, half], [-half, half]])
    # Tilt: the top edge recedes (shorter), as a card leaning away from the camera.
    corners[:2, 0] *= 1 - look.tilt
    corners[:2, 1] *= 1 - look.tilt / 2
    theta = np.deg2rad(look.angle)
    rotation = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    placed = corners @ rotation.T + np.array(centre)
    source = np.array([[0, 0], [side, 0], [side, side], [0, side]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(source, placed.astype(np.float32))
    height, width = frame.shape
    warped = cv2.warpPerspective(image, matrix, (width, height), borderValue=0)
    mask = cv2.warpPerspective(np.ones_like(image), matrix, (width, height), borderValue=0)
    frame[mask > 0.5] = warped[mask > 0.5]
