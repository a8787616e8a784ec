"""`tillpoint redeem`, `tillpoint balance`, `tillpoint void` and `tillpoint pos-api`: the till
without a screen, for a shop's own POS. A thin layer over `terminal.core.headless`."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

from sync.cli.common import CommandError, Commands, read_text_argument

from .cli import DEFAULT_STORE, existing_data
from .core.headless import (
    EXIT_NOT_READY,
    Answer,
    HeadlessError,
    HeadlessTill,
    NotReadyError,
    damage_told,
)
from .core.session import TerminalSession
from .core.store import SchemaTooNewError

EXIT_CODES = """\
exit codes:
  0  approved (redeem), voided (void), the card or voucher can be used (balance)
  1  declined by the server, or by the terminal offline when it could decide (a used
     voucher, a blocked or empty card, a forged or expired code), or refused by policy
     (a void too late): the reason says why; asking again will not change it
  2  the request was wrong: not a Tillpoint code, an amount that cannot be read or
     that no redemption can be (zero or less, more than the most one can take), an
     unknown reference, a usage error; nothing was asked of the server
  3  no decision came from the server (no answer, or a gateway's error) and the
     terminal could not decide it offline (a limit, a card it has not seen, a sync too
     old, its clock): the reason says which; take another payment method, or ask again
     when the server answers (a new request)
  After 1 or 3 offline, when the request may have reached the server before its
  answer was lost (a timeout, a gateway's 502/503/504), the terminal cannot tell
  whether the server took it: the reason says so ("withdrawn": true with --json), and
  the terminal gives it back automatically when it next syncs (a voucher: the owner is
  told to honour it; a card expired or blocked by then: to refund the customer).
  Only a server that surely never got the request (nothing answered) took nothing.
  5  no terminal database at --data, it is not paired, or the owner revoked it (the
     server said so, now or before): pair it again with a new code, into a new --data
     file; it redeems and voids nothing until then, offline either ({"error":
     "revoked"}), and balance says what it last synced, as such
  6  the terminal database at --data is damaged: restore it from a copy or pair the
     till again (the message says how to look for unsynced redemptions in it)

With --json, stdout holds one JSON object, also on errors: {"error": KIND, "message": ...}.
"""


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_STORE,
        metavar="FILE",
        help=f"the paired terminal's database (default {DEFAULT_STORE})",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--timeout",
        type=float,
        default=3.0,
        metavar="SECONDS",
        help="wait this long for the server before deciding offline (default 3)",
    )


def _command(
    commands: Commands[argparse.ArgumentParser], name: str, help_text: str, description: str
) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        name,
        help=help_text,
        description=description,
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(parser)
    return parser


def register_redeem(commands: Commands[argparse.ArgumentParser]) -> None:
    parser = _command(
        commands,
        "redeem",
        "redeem a gift card or voucher without the screens",
        "Redeem a gift card (with --amount) or a voucher (whole, no amount) the way the "
        "screens do: the server decides when it answers; otherwise the terminal decides "
        "offline within the business's limits and keeps it in the outbox for the next sync. "
        "Run `tillpoint sync --watch` beside it to push what was approved offline.",
    )
    parser.add_argument("code", metavar="CODE|-", help="the QR text in quotes, or - for stdin")
    parser.add_argument("--amount", help="for a gift card: how much to take, e.g. 4.20")
    parser.add_argument(
        "--cashier",
        metavar="NAME",
        help="the staff member at the POS, by the name (or id) the owner gave them a till "
        "PIN under; the event and the server's record name them (default: the till itself)",
    )
    parser.set_defaults(handler=_run(lambda till, a: till.redeem(_code(a), a.amount, a.cashier)))


def register_balance(commands: Commands[argparse.ArgumentParser]) -> None:
    parser = _command(
        commands,
        "balance",
        "what a gift card holds, or whether a voucher is used",
        "Sync once (when the server answers), then say what the card holds or whether the "
        "voucher was used; offline, as the terminal last heard.",
    )
    parser.add_argument("code", metavar="CODE|-", help="the QR text in quotes, or - for stdin")
    parser.set_defaults(handler=_run(lambda till, a: till.balance(_code(a))))


def register_void(commands: Commands[argparse.ArgumentParser]) -> None:
    parser = _command(
        commands,
        "void",
        "take back a gift-card redemption made at this terminal",
        "Void a gift-card redemption made at this terminal within the void window, named "
        "by the reference `tillpoint redeem` printed. It is queued like an offline "
        "redemption and pushed at once when the server answers.",
    )
    parser.add_argument("reference", help="the redemption's reference")
    parser.set_defaults(handler=_run(lambda till, a: till.void(a.reference)))


def _code(args: argparse.Namespace) -> str:
    return read_text_argument(args.code)


def open_till(data: Path, timeout: float) -> HeadlessTill:
    """The headless till over the terminal database at `data`, which must exist."""
    try:
        path = existing_data(data)
    except CommandError as exc:
        raise NotReadyError(str(exc)) from None
    session = TerminalSession(path, timeout=timeout)
    try:
        with damage_told(path):
            session.open()
    except SchemaTooNewError as exc:
        raise NotReadyError(str(exc)) from None
    return HeadlessTill(session)


def _run(
    call: Callable[[HeadlessTill, argparse.Namespace], Answer],
) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        till: HeadlessTill | None = None
        try:
            till = open_till(args.data, args.timeout)
            with damage_told(args.data):
                answer = call(till, args)
        except HeadlessError as exc:
            if args.json:
                print(json.dumps(exc.document(), ensure_ascii=False))
                return exc.exit_code
            raise CommandError(str(exc), exc.exit_code) from None
        except CommandError as exc:  # from reading the code on stdin
            if args.json:
                print(json.dumps({"error": "bad_input", "message": str(exc)}))
            raise
        finally:
            if till is not None:
                till.session.close()
        if args.json:
            print(json.dumps(answer.document, ensure_ascii=False))
        else:
            print(answer.words)
        return answer.exit_code

    return handler


__all__ = [
    "EXIT_CODES",
    "EXIT_NOT_READY",
    "open_till",
    "register_balance",
    "register_redeem",
    "register_void",
]
