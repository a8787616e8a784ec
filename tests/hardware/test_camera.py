"""Sources: folders, single images, video files, missing cameras, bad specs."""

import cv2
import pytest

from hardware import CameraError, ImageSource, QrDecoder, open_source
from hardware.synthetic import frame_with_codes


def write_images(folder, texts):
    folder.mkdir(exist_ok=True)
    for index, text in enumerate(texts):
        cv2.imwrite(str(folder / f"{index:02d}.png"), frame_with_codes([text]))
    (folder / "notes.txt").write_text("not an image")


def read_all(source, limit=50):
    frames: list[object] = []
    while len(frames) < limit and (frame := source.read()) is not None:
        frames.append(frame)
    return frames


def test_a_folder_gives_its_images_in_name_order(tmp_path):
    write_images(tmp_path / "codes", ["TP1:A", "TP1:B"])
    frames = read_all(open_source(str(tmp_path / "codes")))
    assert [QrDecoder().decode(frame).codes for frame in frames] == [("TP1:A",), ("TP1:B",)]


def test_a_looping_folder_holds_each_image_then_starts_again(tmp_path):
    write_images(tmp_path / "codes", ["TP1:A", "TP1:B"])
    source = open_source(str(tmp_path / "codes"), loop=True, hold=2)
    texts = [QrDecoder().decode(frame).codes[0] for frame in read_all(source, limit=6)]
    assert texts == ["TP1:A", "TP1:A", "TP1:B", "TP1:B", "TP1:A", "TP1:A"]


def test_a_video_file_is_read_frame_by_frame(tmp_path):
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 10, (640, 480))
    for _ in range(4):
        writer.write(frame_with_codes(["TP1:VIDEO"]))
    writer.release()
    frames = read_all(open_source(str(path)))
    assert len(frames) == 4
    assert QrDecoder().decode(frames[-1]).codes == ("TP1:VIDEO",)


def test_an_empty_folder_says_so(tmp_path):
    with pytest.raises(CameraError, match="holds no images"):
        open_source(str(tmp_path))


def test_a_missing_path_says_what_a_source_can_be(tmp_path):
    with pytest.raises(CameraError, match="camera number, a file, a folder or a URL"):
        open_source(str(tmp_path / "nowhere"))


def test_a_camera_that_is_not_there_says_to_check_it(tmp_path):
    with pytest.raises(CameraError, match="could not be opened"):
        open_source("97")


def test_a_file_that_is_not_an_image_says_so(tmp_path):
    path = tmp_path / "broken.png"
    path.write_bytes(b"not a png")
    with pytest.raises(CameraError, match="not an image"):
        ImageSource([path]).read()
