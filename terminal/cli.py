"""`tillpoint terminal [pair]` and `tillpoint sync`, registered through the entry point group."""

from __future__ import annotations

import argparse
import functools
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sync.cli.common import EXIT_OK, CommandError, Commands
from sync.client import (
    DeviceAuth,
    ServerAnswerError,
    ServerRefusedError,
    ServerUnreachableError,
    SyncClient,
    server_url_problem,
)
from sync.engine import Listening, PushSummary, sync_once

from .core.revocation import PAIR_AGAIN_FROM_THE_SHELL, REVOKED, note_refusal
from .core.session import PairingFailedError, TerminalSession
from .core.store import DamagedStoreError, SchemaTooNewError, TerminalStore, damage_named
from .core.till import CLOCK_TOLERANCE
from .core.words import clock_apart

DEFAULT_STORE = Path("var/terminal/terminal.db")
EXIT_UNREACHABLE = 3
EXIT_REJECTED = 4
EXIT_REFUSED = 2  # the server refused the sync for another reason: the message says why
EXIT_NOT_READY = 5  # no terminal database at --data, not paired, or revoked by the owner
EXIT_DAMAGED = 6  # the terminal database at --data is damaged (as `redeem`)
EXIT_INTERRUPTED = 130  # Ctrl+C, as a shell reports it
# A till's clock this far or more from the server's is worth a word: offline, a till that
# synced with its clock so far off approves nothing (till.CLOCK_TOLERANCE).
CLOCK_WARNING_SECONDS = int(CLOCK_TOLERANCE.total_seconds())
DEFAULT_SERVE_PORT = 8080  # terminal.web's, named here so --help needs no aiohttp


def told_when_damaged(
    handler: Callable[[argparse.Namespace], int],
) -> Callable[[argparse.Namespace], int]:
    """A command over `--data` that says, in one line, when that database is damaged."""

    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        try:
            with damage_named(args.data):
                return handler(args)
        except DamagedStoreError as exc:
            raise CommandError(str(exc), EXIT_DAMAGED) from None

    return run


def existing_data(path: Path) -> Path:
    """`path` when a terminal database is there; only pairing makes a new one."""
    if not path.is_file():
        raise CommandError(
            f"there is no terminal database at {path}: give the paired terminal's --data "
            "file, or pair one first with `tillpoint terminal pair CODE --server URL --data "
            f"{path}`",
            EXIT_NOT_READY,
        )
    return path


def server_url(text: str) -> str:
    """An argparse type: a server's URL with its scheme."""
    problem = server_url_problem(text)
    if problem is not None:
        raise argparse.ArgumentTypeError(problem)
    return text.strip()


def _minutes(text: str) -> float:
    """An argparse type: minutes, 0 or more."""
    try:
        minutes = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of minutes") from None
    if not 0 <= minutes <= 24 * 60:
        raise argparse.ArgumentTypeError("give 0 (never) to 1440 minutes")
    return minutes


def _store_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_STORE,
        metavar="FILE",
        help=f"the terminal's database (default {DEFAULT_STORE})",
    )


def register(commands: Commands[argparse.ArgumentParser]) -> None:
    terminal = commands.add_parser(
        "terminal",
        help="open the cashier's terminal (or pair it)",
        description="Open the terminal: scan, redeem, see today's history, manage listings. "
        "An unpaired terminal starts on its pairing screen. With --serve, the same terminal "
        "opens in a browser instead; over SSH, make it a key's forced command in "
        "authorized_keys (docs/terminal.md).",
    )
    terminal.add_argument("--server", type=server_url, help="the server's URL (for pairing)")
    terminal.add_argument(
        "--camera",
        metavar="SOURCE",
        help="a webcam number (0), a video, an image folder or a stream URL; "
        "without it, scan with a USB scanner or type codes",
    )
    terminal.add_argument(
        "--printer",
        metavar="SPEC",
        help="usb:VID:PID, network:HOST[:PORT], serial:DEVICE[:BAUD], file:PATH or text:PATH "
        "(default: text receipts next to the database)",
    )
    terminal.add_argument(
        "--sync-interval",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="how often to sync in the background while open (default 10)",
    )
    terminal.add_argument(
        "--idle-timeout",
        type=_minutes,
        default=5.0,
        metavar="MINUTES",
        help="sign out whoever is signed in after this long without a key or a scan "
        "(default 5; 0 never)",
    )
    _store_option(terminal)
    served = terminal.add_argument_group(
        "in a browser",
        "--serve serves this terminal to a browser instead of opening it here: the same app, "
        "behind a sign-in with an access code printed at start (or the one in "
        "TILLPOINT_TERMINAL_ACCESS_CODE, 12 characters or more). One browser tab at a time: "
        "a new one takes over. F5 in the page syncs the till, never reloads it; where a "
        "browser or an SSH client takes function keys, Ctrl+S, Ctrl+L, Ctrl+B and Ctrl+R do "
        "what F1, F2, F3 and F5 do.",
    )
    served.add_argument("--serve", action="store_true", help="serve it to a browser")
    served.add_argument(
        "--host",
        help="the address to listen on (default 127.0.0.1); any other than loopback needs an "
        "HTTPS proxy in front, named with --public-url",
    )
    served.add_argument(
        "--port", type=int, help=f"the port to listen on (default {DEFAULT_SERVE_PORT})"
    )
    served.add_argument(
        "--public-url",
        metavar="URL",
        help="the address browsers use when a reverse proxy is in front, e.g. "
        "https://till.example.com",
    )
    terminal.set_defaults(handler=run_terminal)
    actions = terminal.add_subparsers(dest="terminal_command", metavar="ACTION")
    pair = actions.add_parser(
        "pair",
        help="pair with a code from the vendor",
        description="Make this terminal's device key, register it with the pairing code "
        "the owner created, and keep the credentials in the terminal's database.",
    )
    pair.add_argument("code", help="the pairing code, e.g. K7Q2-M9XA")
    pair.add_argument(
        "--server", required=True, type=server_url, help="the server's URL, e.g. https://…"
    )
    pair.add_argument("--name", default="Till", help="a name the owner will recognise")
    _store_option(pair)
    pair.set_defaults(handler=pair_terminal)


def register_sync(commands: Commands[argparse.ArgumentParser]) -> None:
    sync = commands.add_parser(
        "sync",
        help="push this terminal's offline redemptions, then refresh its keys",
        description="Push the outbox (offline redemptions) in batches, then refresh the trust "
        "list. Exit 0 when all went through; 3 when the server cannot be reached, or a "
        "gateway in front of it answers in its place (502, 503, 504, a page that is not "
        "the server's): nothing is lost, run it again later; 2 when the server refused the "
        "sync itself (the message says why); 4 when the server refused some events; 5 when "
        "there is no terminal database at --data, it is not paired, or the owner revoked "
        "it (pair it again with a new code, into a new --data file); 6 when that database "
        "is damaged (restore it from a copy or pair the till again); 130 when stopped with "
        "Ctrl+C (it says what was pushed and what still waits: run it again).",
    )
    _store_option(sync)
    sync.add_argument(
        "--watch",
        action="store_true",
        help="keep syncing until Ctrl+C: at once when the server's stream says changes "
        "wait, and every --interval seconds regardless; a problem is said once, and again "
        "when it changes",
    )
    sync.add_argument("--interval", type=float, default=10.0, metavar="SECONDS")
    sync.set_defaults(handler=run_sync)


@told_when_damaged
def run_terminal(args: argparse.Namespace) -> int:
    if args.serve:
        return serve_terminal(args)
    for option in ("host", "port", "public_url"):
        if getattr(args, option) is not None:
            raise CommandError(f"--{option.replace('_', '-')} is for --serve: add --serve")
    from hardware import PrinterError, open_printer

    from .app import make_app

    try:
        printer = open_printer(args.printer) if args.printer else None
    except PrinterError as exc:
        raise CommandError(str(exc)) from None
    try:
        app = make_app(
            args.data,
            server_url=args.server,
            camera=args.camera,
            printer=printer,
            sync_interval=args.sync_interval,
            idle_timeout=args.idle_timeout * 60,
        )
    except SchemaTooNewError as exc:
        raise CommandError(str(exc)) from None
    app.run()
    return EXIT_OK


@told_when_damaged
def serve_terminal(args: argparse.Namespace) -> int:
    """`tillpoint terminal --serve`: each browser tab runs `tillpoint terminal` itself."""
    from .web.command import AddressError, serve
    from .web.sign_in import AccessCodeError

    session = TerminalSession(args.data)
    try:
        session.open()  # a file this Tillpoint cannot use stops it here, not in the browser
    except SchemaTooNewError as exc:
        raise CommandError(str(exc)) from None
    finally:
        session.close()
    app_command = ["terminal", "--data", str(args.data.resolve())]
    app_command += ["--sync-interval", str(args.sync_interval)]
    for option in ("server", "camera", "printer"):
        if getattr(args, option):
            app_command += [f"--{option}", getattr(args, option)]
    try:
        serve(
            app_command,
            host=args.host or "127.0.0.1",
            port=args.port or DEFAULT_SERVE_PORT,
            public_url=args.public_url,
        )
    except (AddressError, AccessCodeError) as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:
        raise CommandError(
            f"could not serve the till, {exc.strerror or exc}: pick another port with --port"
        ) from None
    return EXIT_OK


@told_when_damaged
def pair_terminal(args: argparse.Namespace) -> int:
    session = TerminalSession(args.data)
    try:
        session.open()
    except SchemaTooNewError as exc:
        raise CommandError(str(exc)) from None
    if session.store.pairing() is not None:
        raise CommandError(
            f"{args.data} is already paired: use another --data file to pair a second terminal"
        )
    try:
        pairing = session.pair(args.server, args.code, args.name)
    except PairingFailedError as exc:
        raise CommandError(str(exc), EXIT_UNREACHABLE if exc.unreachable else 2) from None
    print(f"paired as device {pairing.device_id} of business {pairing.business_id}")
    return EXIT_OK


@told_when_damaged
def run_sync(args: argparse.Namespace) -> int:
    try:
        store = TerminalStore(existing_data(args.data))
    except SchemaTooNewError as exc:
        raise CommandError(str(exc)) from None
    pairing = store.pairing()
    if pairing is None:
        raise CommandError(
            f"{args.data} is not paired yet: run `tillpoint terminal pair` first", EXIT_NOT_READY
        )
    if store.revoked_at() is not None:  # the server refuses all it would send
        raise CommandError(_revoked(store), EXIT_NOT_READY)
    auth = DeviceAuth(pairing.device_id, pairing.secret)
    client = SyncClient(pairing.server_url, auth=auth)
    with client:
        if not args.watch:
            progress = _Progress()
            try:
                return _sync_and_report(client, store, progress)
            except KeyboardInterrupt:
                raise CommandError(_interrupted(progress, store), EXIT_INTERRUPTED) from None
        # The stream has a client (and a thread) of its own; its news cuts the wait short.
        changes = threading.Event()
        listening = Listening(SyncClient(pairing.server_url, auth=auth), store.cursor, changes.set)
        threading.Thread(target=listening.run, name="listening", daemon=True).start()
        said: str | None = None  # the problem told last: told once, not every round
        try:
            while True:
                changes.clear()
                progress = _Progress()
                try:
                    _sync_and_report(client, store, progress)
                    said = None
                except _NotSynced as exc:
                    if exc.exit_code == EXIT_NOT_READY:
                        raise  # revoked: no later sync gets through
                    if exc.why != said:
                        print(
                            f"tillpoint: {exc} Still trying, every {args.interval:g} s; "
                            "nothing more is said until that changes.",
                            file=sys.stderr,
                            flush=True,
                        )
                    said = exc.why
                except KeyboardInterrupt:
                    print(f"tillpoint: {_interrupted(progress, store)}", file=sys.stderr)
                    raise
                changes.wait(args.interval)
        except KeyboardInterrupt:
            print("stopped watching", file=sys.stderr)
            return EXIT_OK
        finally:
            listening.stop()


class _Progress:
    """The push's progress bar, which remembers how far the push got."""

    def __init__(self) -> None:
        self.pushed = 0  # events the server has answered, and the outbox let go

    def __call__(self, done: int, total: int) -> None:
        self.pushed = done
        width = 30
        filled = width * done // max(total, 1)
        print(
            f"\rpushing [{'#' * filled}{'.' * (width - filled)}] {done}/{total}",
            end="",
            file=sys.stderr,
            flush=True,
        )


def _interrupted(progress: _Progress, store: TerminalStore) -> str:
    """What a sync stopped by Ctrl+C did, and what to do next."""
    if progress.pushed:
        print(file=sys.stderr)  # end the progress bar's line
    waiting = store.pending_count()
    done = (
        f"{progress.pushed} {'event was' if progress.pushed == 1 else 'events were'} pushed"
        if progress.pushed
        else "nothing was pushed"
    )
    if waiting:
        still = f"{_events(waiting)} in the outbox"
    else:
        still = "the outbox is empty, but the cards and keys were not all brought up to date"
    return (
        f"interrupted: {done}; {still}. Nothing is lost or counted twice: run "
        "`tillpoint sync` again."
    )


def _events(count: int) -> str:
    """`1 event waits`, `3 events wait`."""
    return "1 event waits" if count == 1 else f"{count} events wait"


def _revoked(store: TerminalStore) -> str:
    """What `tillpoint sync` says for a till the owner revoked."""
    waiting = store.pending_count()
    left = (
        f"; {_events(waiting)} in the outbox, which the server refuses under this pairing "
        '(docs/terminal.md, "A revoked till")'
        if waiting
        else ""
    )
    return f"{REVOKED[0].lower()}{REVOKED[1:]}{PAIR_AGAIN_FROM_THE_SHELL}{left}"


class _NotSynced(CommandError):
    """A sync that did not get through; `why` names the problem (`--watch` tells it once)."""

    def __init__(self, message: str, exit_code: int, why: str) -> None:
        super().__init__(message, exit_code)
        self.why = why


def _sync_and_report(client: SyncClient, store: TerminalStore, progress: _Progress) -> int:
    summary = PushSummary()
    try:
        sync_once(client, store, progress, summary)
    except ServerUnreachableError as exc:
        # No answer, or none that is the server's (a gateway's 502, a page that is not
        # JSON): what was pushed before it stays pushed, and is said.
        _report_push(summary)
        waiting = store.pending_count()
        still = f"{_events(waiting)} in the outbox" if waiting else "the outbox is empty"
        raise _NotSynced(
            f"{exc}. Nothing was lost: {still}; run `tillpoint sync` again later.",
            EXIT_UNREACHABLE,
            str(exc),
        ) from None
    except ServerRefusedError as exc:
        _report_push(summary)
        if note_refusal(store, exc):
            raise _NotSynced(_revoked(store), EXIT_NOT_READY, exc.kind) from None
        raise _NotSynced(str(exc), EXIT_REFUSED, str(exc)) from None
    except ServerAnswerError as exc:  # JSON, but not what this version reads
        _report_push(summary)
        message = f"{exc}: is the server a Tillpoint of another version? Update this terminal"
        raise _NotSynced(message, EXIT_REFUSED, message) from None
    _report_push(summary, always=True)
    print(f"pulled {summary.pulled} changes, cursor {summary.cursor}")
    print(
        f"waiting in the outbox: {store.pending_count()}; "
        f"synced at {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC",
        flush=True,
    )
    _warn_of_clock(client.clock_offset)
    return EXIT_REJECTED if summary.rejected else EXIT_OK


def _report_push(summary: PushSummary, *, always: bool = False) -> None:
    """What the push did: said after a sync, and when a sync fails after pushing some."""
    if summary.pushed:
        print(file=sys.stderr)  # end the progress bar's line
    elif not always:
        return
    print(
        f"pushed {summary.pushed}: {summary.applied} applied, {summary.duplicates} "
        f"duplicates, {summary.incidents} with incidents, {summary.rejected} rejected",
        flush=True,
    )
    for detail in summary.incident_details:
        print(f"  incident: {detail}")
    for rejection in summary.rejections:
        print(f"  rejected: {rejection}")


def _warn_of_clock(offset: float | None) -> None:
    """Say so when this machine's clock is far from the server's (its `Date` header)."""
    if offset is None or abs(offset) < CLOCK_WARNING_SECONDS:
        return
    print(
        f"tillpoint: warning: this till's clock is {clock_apart(offset)} the server's: "
        "set it right (date, time and zone), then sync again. Until a sync finds the two "
        "clocks within 5 minutes of each other, the till approves nothing offline.",
        file=sys.stderr,
        flush=True,
    )
