"""`tillpoint scan` with a source it cannot read among others: it says so in one line of its
own for that one (no list of formats for a damaged image, no FFmpeg lines), reads the rest,
and exits 2."""

import json
import os
import subprocess
import sys

import cv2
import pytest

from hardware.synthetic import frame_with_codes
from sync.cli import main


@pytest.fixture
def good(tmp_path):
    path = tmp_path / "good.png"
    cv2.imwrite(str(path), frame_with_codes(["TP1:ONE"]))
    return path


@pytest.fixture
def cut_short(tmp_path, good):
    """A PNG cut off half-way, as a failed copy leaves it."""
    path = tmp_path / "cut.png"
    path.write_bytes(good.read_bytes()[:200])
    return path


def test_a_damaged_image_is_one_line_and_the_others_are_read(capsys, good, cut_short):
    assert main(["scan", str(cut_short), str(good)]) == 2
    out, err = capsys.readouterr()
    assert out.splitlines() == [f"{good}: TP1:ONE"]
    assert err.splitlines() == [
        f"tillpoint: {cut_short} could not be read as an image: it is damaged, cut short, "
        "or not really a .png file"
    ]
    assert ".bmp" not in err


def test_a_folder_with_a_damaged_image_reads_the_others(capsys, tmp_path, good, cut_short):
    assert main(["scan", "--json", str(tmp_path)]) == 2
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[0]["file"] == str(cut_short)
    assert "could not be read as an image" in lines[0]["error"]
    assert (lines[1]["file"], lines[1]["codes"]) == (str(good), ["TP1:ONE"])


def test_a_video_that_cannot_be_opened_is_one_line_without_ffmpegs_own(tmp_path):
    video = tmp_path / "clip.mp4"
    video.write_bytes(os.urandom(4096))
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCV_")}
    done = subprocess.run(
        [sys.executable, "-m", "sync.cli", "scan", str(video)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"tillpoint: {video} could not be opened as a video or stream: check the path or URL"
    ]
