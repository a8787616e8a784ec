"""Where frames come from: a webcam, a video file, a stream, a folder of images.

All of them answer `read()` with the next frame (a numpy image, BGR or grey) or None when
there are no more, so the scanner, `tillpoint scan` and the tests run one code path whatever
the source. `open_source("0")` is the first webcam; a scripted source stands in for a webcam
in tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

from .extras import needs

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Frame: TypeAlias = npt.NDArray[np.uint8]

__all__ = [
    "IMAGE_SUFFIXES",
    "CameraError",
    "CaptureSource",
    "Frame",
    "FrameSource",
    "ImageSource",
    "ScriptedSource",
    "open_source",
]


def __getattr__(name: str) -> Any:
    """`Frame` (a numpy image type) on demand: numpy comes with OpenCV in the [hardware]
    extra, and importing this module must not need it."""
    if name == "Frame":
        import numpy as np
        import numpy.typing as npt

        return npt.NDArray[np.uint8]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff"})


class CameraError(Exception):
    """A source could not be opened or read; the message says what to do.

    `brief` is what fits a status line beside the rest: given, or the message's first
    clause (before its first ": ")."""

    def __init__(self, message: str, *, brief: str | None = None) -> None:
        super().__init__(message)
        self.brief = brief if brief is not None else message.partition(": ")[0]


class FrameSource(Protocol):
    """Anything that hands out frames, one at a time, until it has none left."""

    name: str

    def read(self) -> Frame | None: ...

    def close(self) -> None: ...


class _Pacer:
    """Holds a source to `fps` frames a second; 0 means as fast as it can go."""

    def __init__(self, fps: float, sleep: Callable[[float], None] = time.sleep) -> None:
        self.interval = 1.0 / fps if fps > 0 else 0.0
        self.sleep = sleep
        self.due = 0.0

    def wait(self) -> None:
        if not self.interval:
            return
        now = time.monotonic()
        if self.due > now:
            self.sleep(self.due - now)
        self.due = max(self.due, now) + self.interval


class CaptureSource:
    """OpenCV's VideoCapture: a device index, a video file or a stream URL."""

    def __init__(self, target: int | str, *, fps: float = 0.0, name: str | None = None) -> None:
        self.name = name or str(target)
        try:
            import cv2
        except ImportError as exc:
            raise CameraError(needs("a camera", exc)) from None
        # OpenCV warns on stderr when a device is missing; CameraError below says it in words.
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
        self._capture = cv2.VideoCapture(target)
        if not self._capture.isOpened():
            self._capture.release()
            raise CameraError(_unopened(target))
        self._pacer = _Pacer(fps)

    def read(self) -> Frame | None:
        import numpy as np

        self._pacer.wait()
        ok, frame = self._capture.read()
        return np.asarray(frame, dtype=np.uint8) if ok else None

    def close(self) -> None:
        self._capture.release()


class ImageSource:
    """Still images as frames: each held for `hold` frames, the lot repeated if `loop`."""

    def __init__(
        self,
        paths: Sequence[Path],
        *,
        loop: bool = False,
        hold: int = 1,
        fps: float = 0.0,
        name: str | None = None,
    ) -> None:
        if not paths:
            raise CameraError(f"{name or 'the folder'} holds no images ({_suffixes()})")
        self.name = name or str(paths[0])
        self.paths = list(paths)
        self.loop = loop
        self.hold = max(hold, 1)
        self._pacer = _Pacer(fps)
        self._index = 0
        self._current: Frame | None = None

    @classmethod
    def folder(cls, folder: Path, **options: Any) -> ImageSource:
        images = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        return cls(images, name=str(folder), **options)

    def read(self) -> Frame | None:
        position, repeat = divmod(self._index, self.hold)
        if position >= len(self.paths):
            if not self.loop:
                return None
            self._index = position = repeat = 0
        self._pacer.wait()
        if repeat == 0 or self._current is None:
            self._current = self._load(self.paths[position])
        self._index += 1
        return self._current

    @staticmethod
    def _load(path: Path) -> Frame:
        try:
            import cv2
            import numpy as np
        except ImportError as exc:
            raise CameraError(needs("reading images", exc)) from None
        frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if frame is None:
            raise CameraError(f"{path} is not an image OpenCV can read ({_suffixes()})")
        return np.asarray(frame, dtype=np.uint8)

    def close(self) -> None:
        self._current = None


class ScriptedSource:
    """Frames from a list: a stand-in for a webcam that tests and benchmarks can script."""

    def __init__(self, frames: Iterable[Frame], name: str = "scripted") -> None:
        self.name = name
        self._frames = iter(frames)

    def read(self) -> Frame | None:
        return next(self._frames, None)

    def close(self) -> None:
        self._frames = iter(())


def open_source(spec: str, *, loop: bool = False, fps: float = 0.0, hold: int = 1) -> FrameSource:
    """A source from what a person types: `0` (a webcam), a file, a folder or a URL."""
    if spec.isdigit():
        return CaptureSource(int(spec), name=f"camera {spec}")
    if "://" in spec:
        return CaptureSource(spec, fps=fps)
    path = Path(spec)
    if path.is_dir():
        return ImageSource.folder(path, loop=loop, hold=hold, fps=fps)
    if path.is_file():
        if path.suffix.lower() in IMAGE_SUFFIXES:
            return ImageSource([path], loop=loop, hold=hold, fps=fps, name=spec)
        return CaptureSource(spec, fps=fps)
    raise CameraError(
        f"{spec!r} is not a camera number, a file, a folder or a URL: "
        "give e.g. 0 for the first webcam, a video or image path, or rtsp://..."
    )


def _unopened(target: int | str) -> str:
    if isinstance(target, int):
        return (
            f"camera {target} could not be opened: check it is plugged in and not in use "
            "by another program, or give a video file or image folder instead"
        )
    return f"{target} could not be opened as a video or stream: check the path or URL"


def _suffixes() -> str:
    return ", ".join(sorted(IMAGE_SUFFIXES))
