"""`tillpoint[terminal]` without `[hardware]`: OpenCV, numpy, the QR decoders and
python-escpos blocked in a fresh interpreter, the terminal still imports, builds its app and
answers `tillpoint terminal --help`; a camera or an ESC/POS printer says what to install."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

INSTALL = "pip install 'tillpoint[hardware]'"

BLOCK = textwrap.dedent(
    """
    import sys

    BLOCKED = {"cv2", "numpy", "pyzbar", "zxingcpp", "escpos"}

    class NotInstalled:
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in BLOCKED:
                raise ImportError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, NotInstalled())

    def nothing_blocked_loaded():
        loaded = sorted(m for m in sys.modules if m.partition(".")[0] in BLOCKED)
        assert not loaded, loaded
    """
)


def run(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCK + textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_blocker_blocks():
    result = run("import cv2")
    assert result.returncode != 0
    assert "No module named 'cv2'" in result.stderr


def test_the_app_imports_and_builds_without_the_hardware_extra(tmp_path):
    result = run(
        """
        from pathlib import Path
        import terminal.cli, terminal.demo, terminal.scan_command
        from terminal.app import make_app
        app = make_app(Path(sys.argv[1]))
        app.session.close()
        nothing_blocked_loaded()
        print("ok")
        """,
        str(tmp_path / "terminal.db"),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_tillpoint_terminal_help_works_without_the_hardware_extra():
    result = run(
        """
        from sync.cli import main
        try:
            main(["terminal", "--help"])
        finally:
            nothing_blocked_loaded()
        """
    )
    assert result.returncode == 0, result.stderr
    assert "--camera" in result.stdout
    assert "needs an extra" not in result.stdout


@pytest.mark.parametrize(
    "ask",
    [
        "hardware.open_source('0')",
        "hardware.QrDecoder()",
        "hardware.ImageSource([Path('code.png')]).read()",
    ],
)
def test_asking_for_a_camera_says_what_to_install(ask):
    result = run(
        f"""
        from pathlib import Path
        import hardware
        try:
            {ask}
        except hardware.CameraError as exc:
            print(exc)
        """
    )
    assert result.returncode == 0, result.stderr
    assert INSTALL in result.stdout


def test_an_escpos_printer_says_what_to_install_and_text_receipts_still_print(tmp_path):
    result = run(
        """
        from pathlib import Path
        import hardware
        printer = hardware.open_printer("text:" + sys.argv[1])
        printer.print_receipt(hardware.Receipt("Corner Café", [("Redeemed", "£5.00")]))
        try:
            hardware.open_printer("usb:04b8:0202")
        except hardware.PrinterError as exc:
            print(exc)
        nothing_blocked_loaded()
        """,
        str(tmp_path / "receipts.txt"),
    )
    assert result.returncode == 0, result.stderr
    assert INSTALL in result.stdout
    assert "Corner Café" in (tmp_path / "receipts.txt").read_text()


def test_tillpoint_scan_with_a_camera_says_what_to_install():
    result = run(
        """
        from sync.cli import main
        sys.exit(main(["scan", "0"]))
        """
    )
    assert result.returncode != 0
    assert INSTALL in result.stderr
    assert "Traceback" not in result.stderr
