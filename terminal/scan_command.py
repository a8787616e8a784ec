"""`tillpoint scan`: what the scanner reads in images, folders, videos or a camera."""

from __future__ import annotations

import argparse
import json
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
        "or a stream URL. Exit 0 when something was read, 1 when nothing was.",
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


def run_scan(args: argparse.Namespace) -> int:
    try:
        decoder = QrDecoder()
    except CameraError as exc:
        raise CommandError(str(exc)) from None
    anything = False
    for spec in args.sources:
        for reading in _readings(spec, decoder, args.frames):
            anything = anything or bool(reading.codes)
            _report(reading, args.json)
    return EXIT_OK if anything else EXIT_NOTHING_READ


def _readings(spec: str, decoder: QrDecoder, max_frames: int) -> Iterator[Reading]:
    path = Path(spec)
    try:
        if path.is_dir() or (path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES):
            images = ImageSource.folder(path) if path.is_dir() else ImageSource([path], name=spec)
            yield from _images(images, decoder)
        else:
            yield from _frames(open_source(spec), decoder, max_frames)
    except CameraError as exc:
        raise CommandError(str(exc)) from None


def _images(source: ImageSource, decoder: QrDecoder) -> Iterator[Reading]:
    for path in source.paths:
        frame = source.read()
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
