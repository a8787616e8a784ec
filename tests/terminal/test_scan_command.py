"""`tillpoint scan` on images, folders and videos: what it prints, and its exit codes."""

import json
import subprocess
import sys

import cv2
import pytest

from hardware.synthetic import Look, frame_with_codes
from sync.cli import main
from tests.conftest import require_shared


@pytest.fixture
def codes_folder(tmp_path):
    folder = tmp_path / "codes"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), frame_with_codes(["TP1:ONE"]))
    cv2.imwrite(str(folder / "b.jpg"), frame_with_codes(["TP1:TWO", "TP1:THREE"], 1280, 720))
    cv2.imwrite(str(folder / "c.png"), frame_with_codes([]))
    return folder


def json_lines(text):
    return [json.loads(line) for line in text.splitlines()]


def test_json_gives_one_object_per_image_with_every_code(codes_folder, capsys):
    assert main(["scan", "--json", str(codes_folder)]) == 0
    lines = json_lines(capsys.readouterr().out)
    assert [(line["file"], line["codes"]) for line in lines] == [
        (str(codes_folder / "a.png"), ["TP1:ONE"]),
        (str(codes_folder / "b.jpg"), ["TP1:TWO", "TP1:THREE"]),
        (str(codes_folder / "c.png"), []),
    ]
    assert all(isinstance(line["ms"], float) and line["ms"] >= 0 for line in lines)


def test_plain_output_names_the_file_and_says_when_nothing_was_found(codes_folder, capsys):
    main(["scan", str(codes_folder / "a.png"), str(codes_folder / "c.png")])
    assert capsys.readouterr().out.splitlines() == [
        f"{codes_folder / 'a.png'}: TP1:ONE",
        f"{codes_folder / 'c.png'}: no QR code found",
    ]


def test_a_video_gives_a_line_per_frame_in_json_and_each_code_once_in_words(tmp_path, capsys):
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 10, (640, 480))
    for angle in (0, 5, 10):
        writer.write(frame_with_codes(["TP1:VIDEO"], look=Look(angle=angle)))
    writer.release()
    main(["scan", "--json", str(path)])
    lines = json_lines(capsys.readouterr().out)
    assert [(line["frame"], line["codes"]) for line in lines] == [
        (1, ["TP1:VIDEO"]),
        (2, ["TP1:VIDEO"]),
        (3, ["TP1:VIDEO"]),
    ]
    main(["scan", str(path)])
    assert capsys.readouterr().out.splitlines() == [f"{path} frame 1: TP1:VIDEO"]


def test_nothing_read_exits_1(codes_folder, capsys):
    assert main(["scan", str(codes_folder / "c.png")]) == 1


def test_a_source_that_is_not_there_says_what_a_source_can_be(tmp_path, capsys):
    assert main(["scan", str(tmp_path / "missing.png")]) == 2
    assert "not a camera number, a file, a folder or a URL" in capsys.readouterr().err


def test_the_installed_command_reads_a_real_photo():
    photo_text = "http://www.webtech.co.jp/k/"
    photo = require_shared("qr-samples") / "zxing-cpp/qrcode-2/28.webp"
    done = subprocess.run(
        [sys.executable, "-m", "sync.cli", "scan", "--json", str(photo)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(done.stdout)["codes"] == [photo_text]
