"""The decoder on real photographs (shared/qr-samples), read through the webcam's code path:
an image source feeding the scanner frame by frame. Floors are what the decoder reads today,
so a regression fails; a misread fails at once."""

from pathlib import Path

import pytest

from hardware import Cooldown, ImageSource, QrDecoder, Scanner
from tests.conftest import require_shared

# set: (photos, read today) — bench/scanner.py prints the same figures next to plain
# pyzbar and plain zxing-cpp.
FLOORS = {
    "zxing/qrcode-1": (20, 20),
    "zxing/qrcode-2": (35, 33),
    "zxing/qrcode-3": (42, 42),
    "zxing-cpp/qrcode-1": (8, 8),
    "zxing-cpp/qrcode-2": (56, 54),
    "zxing-cpp/qrcode-3": (18, 18),
}


def read_set(folder: Path, decoder: QrDecoder) -> tuple[int, int, list[str]]:
    source = ImageSource.folder(folder)
    scanner = Scanner(source, decoder, Cooldown(0))
    read, misreads = 0, []
    for path in source.paths:
        sighting = scanner.poll()
        assert sighting is not None
        expected = path.with_suffix(".txt").read_bytes().decode("utf-8")
        if expected in sighting.codes:
            read += 1
        elif sighting.codes:
            misreads.append(f"{path.name}: read {sighting.codes[0][:40]!r}")
    assert scanner.poll() is None  # the folder is done
    return len(source.paths), read, misreads


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_real_photos_read_rate_and_no_misreads(name):
    folder = require_shared("qr-samples") / name
    photos, floor = FLOORS[name]
    total, read, misreads = read_set(folder, QrDecoder())
    assert misreads == []
    assert total == photos
    assert read >= floor, f"{name}: read {read} of {total}, {floor} before"


def test_both_decoders_together_read_more_than_either_alone():
    root = require_shared("qr-samples")
    figures = {"both": 0, "zxing": 0, "zbar": 0}
    decoders = {
        "both": QrDecoder(),
        "zxing": QrDecoder(use_zbar=False),
        "zbar": QrDecoder(use_zxing=False),
    }
    for name in FLOORS:
        for label, decoder in decoders.items():
            _, read, misreads = read_set(root / name, decoder)
            assert misreads == [], label  # pyzbar's guessed charsets are filtered out
            figures[label] += read
    assert figures["both"] > figures["zxing"] > figures["zbar"]
