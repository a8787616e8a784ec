"""The distribution's promises: one `tillpoint` command, and a server install without
OpenCV or Textual."""

import re
from importlib.metadata import distribution

import pytest

REQUIRES = distribution("tillpoint").requires or []


def name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9_.-]+", requirement)
    assert match is not None
    return match.group(0).lower()


def requirements_of(extra: str | None) -> set[str]:
    if extra is None:
        return {name(r) for r in REQUIRES if "extra ==" not in r}
    return {name(r) for r in REQUIRES if f'extra == "{extra}"' in r}


@pytest.mark.parametrize("heavy", ["opencv-python", "opencv-python-headless", "textual", "pyzbar"])
def test_a_server_install_pulls_no_ui_or_camera_packages(heavy):
    assert heavy not in requirements_of(None) | requirements_of("server")


def test_the_terminal_and_hardware_extras_bring_them():
    assert "textual" in requirements_of("terminal")
    assert {"opencv-python-headless", "pyzbar"} <= requirements_of("hardware")


def test_one_console_script_named_tillpoint():
    scripts = [e for e in distribution("tillpoint").entry_points if e.group == "console_scripts"]
    assert [(e.name, e.value) for e in scripts] == [("tillpoint", "sync.cli:main")]
