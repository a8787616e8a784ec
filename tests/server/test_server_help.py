"""`tillpoint server --help` names the settings as the README and the error messages do."""

from __future__ import annotations

import argparse
from pathlib import Path

from sync.cli import build_parser

README = Path(__file__).resolve().parents[2] / "README.md"


def _server_help() -> str:
    [commands] = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return str(commands.choices["server"].format_help())


def test_the_workers_option_names_the_redis_setting_the_readme_names():
    help_text = " ".join(_server_help().split())
    assert "above 1 needs TILLPOINT_REDIS_URL" in help_text
    assert "`TILLPOINT_REDIS_URL`" in README.read_text()
