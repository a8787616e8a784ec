"""QR codes out of a frame: zxing-cpp first, pyzbar with OpenCV preprocessing behind it.

Measured on the real photos in shared/qr-samples (bench/scanner.py): zxing-cpp reads the most
and never misreads; pyzbar reads a few photos zxing-cpp does not, but guesses the character set
of non-ASCII codes and gets it wrong (Shift-JIS read as something else). A wrong text is worse
than none, so pyzbar's answers are kept only when they are plain ASCII — the same bytes in every
QR character set, and all that Tillpoint's own tokens ever are.

Either decoder alone is enough: zxing-cpp is a wheel with its own library inside, while pyzbar
needs the system's libzbar, which a machine may lack although pyzbar is installed. The decoder
uses whichever of the two imports, and only when neither does says what to install.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .camera import CameraError
from .extras import needs

if TYPE_CHECKING:
    from .camera import Frame

__all__ = ["Decoded", "QrDecoder", "grey"]


@dataclass(frozen=True)
class Decoded:
    codes: tuple[str, ...]  # every code in the frame, in reading order, each once
    ms: float  # how long decoding took


def grey(frame: Frame) -> Frame:
    import cv2
    import numpy as np

    if frame.ndim == 2:
        return frame
    converted = cv2.cvtColor(
        frame, cv2.COLOR_BGRA2GRAY if frame.shape[2] == 4 else cv2.COLOR_BGR2GRAY
    )
    return np.asarray(converted, dtype=np.uint8)


class QrDecoder:
    def __init__(self, *, use_zxing: bool = True, use_zbar: bool = True) -> None:
        """Decodes with whichever of the decoders asked for can be imported. Raises
        CameraError, saying what to install, when OpenCV is missing or none of them can."""
        try:
            import cv2  # noqa: F401 - each decoder needs it, and numpy with it
            import numpy  # noqa: F401
        except ImportError as exc:
            missing = exc.name or "a package"
            raise CameraError(
                needs("reading QR codes", exc), brief=f"{missing} is not installed"
            ) from None
        why_not: dict[str, ImportError | OSError] = {}
        self.use_zxing = use_zxing and _importable("zxingcpp", why_not)
        self.use_zbar = use_zbar and _importable("pyzbar.pyzbar", why_not)
        if not (self.use_zxing or self.use_zbar):
            raise CameraError(no_decoder(why_not), brief="no QR decoder")

    def decode(self, frame: Frame) -> Decoded:
        started = time.perf_counter()
        image = grey(frame)
        codes: list[str] = []
        if self.use_zxing:
            codes = self._zxing(image)
        if not codes and self.use_zbar:
            codes = self._zbar(image)
        return Decoded(tuple(dict.fromkeys(codes)), (time.perf_counter() - started) * 1000)

    @staticmethod
    def _zxing(image: Frame) -> list[str]:
        import zxingcpp

        results = zxingcpp.read_barcodes(
            image,
            formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode),
            # The text as encoded (GS1 separators and all), not zxing's "human readable" form.
            text_mode=zxingcpp.TextMode.Plain,
        )
        return [result.text for result in results if result.valid]

    @staticmethod
    def _zbar(image: Frame) -> list[str]:
        from pyzbar import pyzbar

        for variant in _preprocessed(image):
            found = pyzbar.decode(variant, symbols=[pyzbar.ZBarSymbol.QRCODE])
            texts = [symbol.data.decode("ascii") for symbol in found if symbol.data.isascii()]
            if texts:
                return texts
        return []


def _importable(module: str, why_not: dict[str, ImportError | OSError]) -> bool:
    """Whether `module` imports; if not, why, kept in `why_not`. pyzbar raises ImportError
    ("Unable to find zbar shared library") when the system has no libzbar, and OSError when
    the one it finds cannot be loaded."""
    try:
        importlib.import_module(module)
    except (ImportError, OSError) as exc:
        why_not[module] = exc
        return False
    return True


def no_decoder(why_not: dict[str, ImportError | OSError]) -> str:
    """Why no decoder works here, and the one thing to install for each: `pip install
    zxing-cpp` (it brings its own library), or the zbar library pyzbar needs."""
    reasons, fixes = [], []
    if "zxingcpp" in why_not:
        reasons.append("zxing-cpp is not installed")
        fixes.append("pip install zxing-cpp")
    zbar = why_not.get("pyzbar.pyzbar")
    if isinstance(zbar, ImportError) and zbar.name in ("pyzbar", "pyzbar.pyzbar"):
        reasons.append("pyzbar is not installed")
        fixes.append("pip install pyzbar, with the zbar library (apt-get install libzbar0)")
    elif zbar is not None:  # installed, but libzbar is missing (ImportError) or broken
        broken = f" ({zbar})" if isinstance(zbar, OSError) else ""
        reasons.append(f"pyzbar cannot find the zbar library{broken}")
        fixes.append("apt-get install libzbar0 (on macOS: brew install zbar)")
    install = "Install either" if len(fixes) > 1 else "Install it"
    return f"no QR decoder: {' and '.join(reasons)}. {install}: {', or '.join(fixes)}"


def _preprocessed(image: Frame) -> Iterator[Frame]:
    """The frame, then versions libzbar has a better chance with, cheapest first."""
    import cv2

    yield image
    height, width = image.shape[:2]
    if max(height, width) > 1000:  # big photos: zbar's finder does better on fewer pixels
        scale = 800 / max(height, width)
        yield _u8(cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA))
    if max(height, width) < 400:  # small crops: give each module more pixels
        yield _u8(cv2.resize(image, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC))
    yield _u8(
        cv2.adaptiveThreshold(image, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY, 31, 5)
    )
    # A code touching the edge has no quiet zone: give it one.
    yield _u8(cv2.copyMakeBorder(image, 32, 32, 32, 32, cv2.BORDER_CONSTANT, value=255))


def _u8(image: object) -> Frame:
    import numpy as np

    return np.asarray(image, dtype=np.uint8)
