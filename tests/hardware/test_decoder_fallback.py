"""Either QR decoder alone reads codes: zxing-cpp when pyzbar cannot load the system's libzbar
(pyzbar then raises ImportError "Unable to find zbar shared library" on import), pyzbar when
zxing-cpp is missing. With neither, the error names what to install — not the [hardware] extra,
which is installed — and has a brief form that fits a status line."""

from __future__ import annotations

import importlib.abc
import sys
from collections.abc import Sequence
from types import ModuleType

import pytest

from hardware import CameraError, QrDecoder
from hardware.synthetic import frame_with_codes
from sync.cli import main


class Failing(importlib.abc.MetaPathFinder):
    """Makes importing each named module fail as it does on a machine without it."""

    def __init__(self, errors: dict[str, ImportError]) -> None:
        self.errors = errors

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> None:
        if fullname in self.errors:
            raise self.errors[fullname]


def no_libzbar() -> dict[str, ImportError]:
    return {"pyzbar.pyzbar": ImportError("Unable to find zbar shared library")}


def no_zxing() -> dict[str, ImportError]:
    return {"zxingcpp": ModuleNotFoundError("No module named 'zxingcpp'", name="zxingcpp")}


def no_pyzbar() -> dict[str, ImportError]:
    return {
        name: ModuleNotFoundError("No module named 'pyzbar'", name="pyzbar")
        for name in ("pyzbar", "pyzbar.pyzbar")
    }


@pytest.fixture
def missing(monkeypatch) -> dict[str, ImportError]:
    """The modules whose import fails from now on (and their error); add to it."""
    errors: dict[str, ImportError] = {}
    finder = Failing(errors)
    monkeypatch.setattr(sys, "meta_path", [finder, *sys.meta_path])
    for name in ("pyzbar.pyzbar", "pyzbar.wrapper", "pyzbar", "zxingcpp"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    return errors


def test_zxing_alone_reads_codes_when_pyzbar_cannot_find_libzbar(missing):
    missing.update(no_libzbar())
    decoder = QrDecoder()
    assert decoder.decode(frame_with_codes(["TP1:HELLO"])).codes == ("TP1:HELLO",)


def test_tillpoint_scan_reads_codes_without_libzbar(missing, tmp_path, capsys):
    import cv2

    missing.update(no_libzbar())
    cv2.imwrite(str(tmp_path / "a.png"), frame_with_codes(["TP1:ONE"]))
    assert main(["scan", str(tmp_path / "a.png")]) == 0
    assert capsys.readouterr().out == f"{tmp_path / 'a.png'}: TP1:ONE\n"


@pytest.mark.parametrize(
    ("gone", "said"),
    [
        (
            [no_zxing, no_libzbar],
            "no QR decoder: zxing-cpp is not installed and pyzbar cannot find the zbar "
            "library. Install either: pip install zxing-cpp, or apt-get install libzbar0 "
            "(on macOS: brew install zbar)",
        ),
        (
            [no_zxing, no_pyzbar],
            "no QR decoder: zxing-cpp is not installed and pyzbar is not installed. Install "
            "either: pip install zxing-cpp, or pip install pyzbar, with the zbar library "
            "(apt-get install libzbar0)",
        ),
    ],
)
def test_with_neither_decoder_the_error_says_what_to_install(missing, gone, said):
    for errors in gone:
        missing.update(errors())
    with pytest.raises(CameraError) as raised:
        QrDecoder()
    assert str(raised.value) == said
    assert "tillpoint[hardware]" not in str(raised.value)  # installed: it would change nothing
    assert raised.value.brief == "no QR decoder"


def test_tillpoint_scan_says_the_whole_fix_when_no_decoder_works(missing, tmp_path, capsys):
    missing.update(no_zxing())
    missing.update(no_libzbar())
    assert main(["scan", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "pip install zxing-cpp" in err
    assert "apt-get install libzbar0" in err
