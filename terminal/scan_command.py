"""`tillpoint scan`: what the scanner reads in images, folders, videos or a camera."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from hardware import (
    IMAGE_SUFFIXES,
    CameraError,
    Cooldown,
    FrameSource,
    ImageSource,
    QrDecoder,
    Scanner,
    open_source,
)
from sync.cli.common import EXIT_OK, CommandError, Commands

EXIT_NOTHING_READ = 1
EXIT_UNREADABLE = 2  # a source could not be opened or read (each is said; the rest were read)

# FFmpeg, inside OpenCV, prints its own lines on stderr for a file or stream it cannot open
# ("moov atom not found"); the scan says what went wrong in one line of its own instead.
# Read when OpenCV first opens a video: set before that, unless someone set them to debug.
_QUIET = {"OPENCV_FFMPEG_LOGLEVEL": "-8", "OPENCV_LOG_LEVEL": "ERROR"}  # -8: AV_LOG_QUIET


@dataclass(frozen=True)
class Reading:
    file: str
    codes: tuple[str, ...]  # every code in the image or frame
    new_codes: tuple[str, ...]  # of a moving source: not reported in the last seconds
    ms: float
    frame: int | None  # the frame's number in a video or camera; None for an image


def register(commands: Commands[argparse.ArgumentParser]) -> None:
    scan = commands.add_parser(
        "scan",
        help="read QR codes from images, folders, videos or a camera",
        description="Decode QR codes the way the terminal's scanner does. A source is an "
        "image, a folder of images, a video file, a camera number (0 is the first webcam) "
        "or a stream URL. A source that cannot be read is said in one line (on stderr, or "
        'as {"file", "error"} with --json) and the others are still read. Exit 0 when '
        "something was read, 1 when nothing was, 2 when a source could not be opened or "
        "read (whatever the others gave).",
    )
    scan.add_argument("sources", nargs="+", metavar="PATH_OR_SOURCE")
    scan.add_argument(
        "--json",
        action="store_true",
        help='one JSON object a line for each image or frame: {"file", "codes", "ms"}',
    )
    scan.add_argument(
        "--frames",
        type=int,
        default=0,
        metavar="N",
        help="stop a camera or stream after N frames (default: until Ctrl+C)",
    )
    scan.set_defaults(handler=run_scan)


@dataclass(frozen=True)
class Unreadable:
    file: str
    problem: str  # one line: what is wrong with it


def run_scan(args: argparse.Namespace) -> int:
    for name, value in _QUIET.items():
        os.environ.setdefault(name, value)
    try:
        decoder = QrDecoder()
    except CameraError as exc:
        raise CommandError(str(exc)) from None
    anything = unreadable = False
    for spec in args.sources:
        for reading in _readings(spec, decoder, args.frames):
            if isinstance(reading, Unreadable):
                unreadable = True
                _report_unreadable(reading, args.json)
                continue
            anything = anything or bool(reading.codes)
            _report(reading, args.json)
    if unreadable:
        return EXIT_UNREADABLE
    return EXIT_OK if anything else EXIT_NOTHING_READ


def _readings(spec: str, decoder: QrDecoder, max_frames: int) -> Iterator[Reading | Unreadable]:
    """What each image or frame of `spec` gives; an Unreadable for a source, or an image
    in a folder, that cannot be read — and the next one is read all the same."""
    path = Path(spec)
    try:
        if path.is_dir() or (path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES):
            images = ImageSource.folder(path) if path.is_dir() else ImageSource([path], name=spec)
            yield from _images(images.paths, decoder)
        else:
            yield from _frames(open_source(spec), decoder, max_frames)
    except CameraError as exc:
        yield Unreadable(spec, str(exc))


def _images(paths: list[Path], decoder: QrDecoder) -> Iterator[Reading | Unreadable]:
    for path in paths:
        try:
            frame = ImageSource([path]).read()
        except CameraError:
            # Its name says it is an image (a folder lists only those), so it is damaged,
            # cut short or misnamed: not a format to be told about.
            yield Unreadable(
                str(path),
                f"{path} could not be read as an image: it is damaged, cut short, or not "
                f"really a {path.suffix.lower() or 'picture'} file",
            )
            continue
        assert frame is not None  # one frame an image
        decoded = decoder.decode(frame)
        yield Reading(str(path), decoded.codes, decoded.codes, decoded.ms, None)


def _frames(source: FrameSource, decoder: QrDecoder, max_frames: int) -> Iterator[Reading]:
    scanner = Scanner(source, decoder, Cooldown(3.0))
    try:
        while not max_frames or scanner.frames < max_frames:
            sighting = scanner.poll()
            if sighting is None:
                return
            yield Reading(
                source.name, sighting.codes, sighting.new_codes, sighting.ms, scanner.frames
            )
    finally:
        scanner.close()


def _report_unreadable(unreadable: Unreadable, as_json: bool) -> None:
    if as_json:
        line = {"file": unreadable.file, "error": unreadable.problem}
        print(json.dumps(line, ensure_ascii=False), flush=True)
    else:
        print(f"tillpoint: {unreadable.problem}", file=sys.stderr, flush=True)


def _report(reading: Reading, as_json: bool) -> None:
    if as_json:
        line: dict[str, object] = {
            "file": reading.file,
            "codes": list(reading.codes),
            "ms": round(reading.ms, 2),
        }
        if reading.frame is not None:
            line["frame"] = reading.frame
        print(json.dumps(line, ensure_ascii=False), flush=True)
        return
    where = reading.file if reading.frame is None else f"{reading.file} frame {reading.frame}"
    if reading.frame is None and not reading.codes:
        print(f"{where}: no QR code found")
    for code in reading.new_codes:
        print(f"{where}: {code.translate(_VISIBLE)}", flush=True)


# Line breaks inside a code would split the one-line-a-code output: show them escaped.
_VISIBLE = str.maketrans({"\r": "\\r", "\n": "\\n", "\t": "\\t"})
