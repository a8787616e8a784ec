"""Helpers shared by the CLI commands."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2

Commands = argparse._SubParsersAction  # the type argparse gives `add_subparsers`


class CommandError(Exception):
    """A problem the person at the keyboard can fix; printed without a traceback."""

    def __init__(self, message: str, exit_code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def parse_time(text: str, what: str) -> datetime:
    """An ISO 8601 date or date-time; a value without a zone is UTC."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise CommandError(
            f"{what} {text!r} is not an ISO 8601 time, e.g. 2026-11-22T10:00:00Z"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def read_text_argument(value: str | None) -> str:
    """The argument itself, or standard input for '-' or no argument.

    Only line endings are trimmed: a space is a base45 character."""
    if value is None or value == "-":
        if sys.stdin is None or sys.stdin.isatty():
            raise CommandError("give the token text as an argument, or pipe it in with '-'")
        return sys.stdin.read().rstrip("\r\n")
    return value


def print_json(document: Any) -> None:
    print(json.dumps(document, ensure_ascii=False, indent=2))
