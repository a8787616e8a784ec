"""`tillpoint`: one command line for operators, vendors and developers.

Commands that belong to `server/` or `terminal/` register through the
``tillpoint.commands`` entry point group, so this package never imports them.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from importlib.metadata import entry_points

from .common import CommandError

EXIT_FAULT = 70  # sysexits' EX_SOFTWARE: an error no command foresaw

__all__ = ["CommandError", "build_parser", "main"]

PLUGIN_GROUP = "tillpoint.commands"


def build_parser() -> argparse.ArgumentParser:
    # Imported here, inside main's Ctrl+C handling: loading the commands takes a moment.
    from . import keys_cmd, token_cmd

    parser = argparse.ArgumentParser(
        prog="tillpoint",
        description="Tillpoint: gift cards and deal vouchers, redeemed at the counter, "
        "online or offline.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    keys_cmd.register(commands)
    token_cmd.register(commands)
    for plugin in entry_points(group=PLUGIN_GROUP):
        try:
            register = plugin.load()
        except ImportError as exc:
            _register_missing(commands, plugin.name, exc)
            continue
        register(commands)
    return parser


def _register_missing(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], name: str, exc: ImportError
) -> None:
    """Keep a command whose extra is not installed, and say how to install it."""
    parser = commands.add_parser(name, help=f"(needs an extra: {exc.name or exc})")

    def explain(_: argparse.Namespace) -> int:
        raise CommandError(
            f"'tillpoint {name}' needs packages that are not installed ({exc.name or exc}): "
            "run `pip install 'tillpoint[server,terminal]'`"
        )

    parser.add_argument("rest", nargs=argparse.REMAINDER)
    parser.set_defaults(handler=explain)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        code: int = args.handler(args)
    except CommandError as exc:
        print(f"tillpoint: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("tillpoint: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Read by `head` or the like, which has seen enough: not an error.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception:
        # Not a refusal the command foresaw: a fault, said as one, and an exit code of its
        # own, so that a script (the job runner) never takes it for a documented outcome.
        traceback.print_exc()
        print(
            f"tillpoint: this is a fault in Tillpoint, not in what was asked: the traceback "
            f"above says where (exit {EXIT_FAULT}); the command may be run again",
            file=sys.stderr,
        )
        return EXIT_FAULT
    return code
