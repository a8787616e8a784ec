"""`tillpoint demo`: the whole product on one machine, for a newcomer, in one command.

It starts the demo server (SQLite, sample businesses, `tillpoint demo-server`) as its own
process, pairs a terminal with the demo café the way an owner would (signed in, a pairing
code), and opens the terminal. With no webcam, the camera is a sample feed: frames rendered
from the demo customer's QR codes, one after another, so a card is scanned within seconds.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hardware import CameraError, ImageSource, QrDecoder, open_source
from hardware.extras import needs
from sync.cli.common import EXIT_OK, CommandError, Commands
from sync.client import ServerRefusedError, ServerUnreachableError, SyncClient

from .core.session import PairingFailedError, TerminalSession

DEMO_OWNER = ("vendor@demo.tillpoint.dev", "tillpoint-demo")
DEMO_BUSINESS = "Corner Café"
# The feed's order: a card to redeem first, then what else the demo shows off.
FEED_ORDER = (
    "corner-cafe-gift-card-25",
    "corner-cafe-voucher-two-flat-whites",
    "page-turners-gift-card-10",  # another business's card: declined, and why
    "corner-cafe-gift-card-5",
)


def register(commands: Commands[argparse.ArgumentParser]) -> None:
    demo = commands.add_parser(
        "demo",
        help="the full demo: a server on SQLite, a paired terminal, a sample camera feed",
        description="Start the demo server, pair a terminal with the demo café and open it. "
        "Without a webcam the camera shows the demo customer's QR codes in turn.",
    )
    demo.add_argument("--data-dir", type=Path, default=Path("var/demo"))
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument(
        "--camera", metavar="SOURCE", help="a webcam number, video, image folder or URL"
    )
    demo.set_defaults(handler=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    from .app import make_app

    data: Path = args.data_dir
    with demo_server(data, args.port) as base:
        terminal = data / "terminal.db"
        pair_demo_terminal(base, terminal)
        camera, loop = choose_camera(args.camera, data)
        print(f"camera: {camera or 'none: scan with a USB scanner or type the codes'}")
        print("opening the terminal (Ctrl+Q quits; the server stops with it)…", flush=True)
        make_app(terminal, camera=camera, camera_loop=loop, sync_interval=5.0).run()
    return EXIT_OK


@contextmanager
def demo_server(data: Path, port: int, timeout: float = 60.0) -> Iterator[str]:
    """The demo server in its own process, its output in DATA/server.log; its base URL."""
    data.mkdir(parents=True, exist_ok=True)
    log_path = data / "server.log"
    base = f"http://127.0.0.1:{port}"
    with log_path.open("w") as log:
        command = [sys.executable, "-m", "sync.cli", "demo-server", "--data-dir", str(data)]
        process = subprocess.Popen(  # noqa: S603 - our own CLI, by the running interpreter
            [*command, "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            _wait_until_up(process, base, log_path, timeout)
            print(_seed_summary(log_path), flush=True)
            yield base
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()


def _wait_until_up(process: subprocess.Popen[bytes], base: str, log: Path, timeout: float) -> None:
    print(f"starting the demo server at {base} ", end="", flush=True)
    deadline = time.monotonic() + timeout
    with SyncClient(base, timeout=1.0) as client:
        while not client.healthy():
            if process.poll() is not None:
                print()
                raise CommandError(
                    f"the demo server stopped (is port {base.rsplit(':', 1)[1]} free? try "
                    f"--port 8080). Its log, {log}:\n{log.read_text()[-2000:]}"
                )
            if time.monotonic() > deadline:
                print()
                raise CommandError(f"the demo server did not start in time: see {log}")
            print(".", end="", flush=True)
            time.sleep(0.5)
    print(" up")


def _seed_summary(log: Path) -> str:
    """What the demo server printed about itself (logins, QR codes), without its access log."""
    lines = log.read_text().splitlines()
    return "\n".join(line for line in lines if not line.startswith("INFO:"))


def pair_demo_terminal(base: str, terminal: Path) -> None:
    """Pair DATA/terminal.db with the demo café, as its owner would, unless it already is."""
    session = TerminalSession(terminal)
    try:
        if session.store.pairing() is not None:
            return
        try:
            with SyncClient(base) as client:
                access = client.sign_in(*DEMO_OWNER)
                business_id = client.find_business_id(DEMO_BUSINESS)
                if business_id is None:
                    raise CommandError(f"the demo server has no {DEMO_BUSINESS}: delete the data")
                branches = client.branch_ids(business_id)  # the till serves the first
                code = client.pairing_code(business_id, access, next(iter(branches), None)).code
            session.pair(base, code, "Demo till")
        except (ServerUnreachableError, ServerRefusedError, PairingFailedError) as exc:
            raise CommandError(f"could not pair the demo terminal: {exc}") from None
        print(f"paired the demo terminal with {DEMO_BUSINESS}")
    finally:
        session.close()


def choose_camera(spec: str | None, data: Path) -> tuple[str | None, bool]:
    """The camera to open and whether to loop it: the one asked for, else the first webcam,
    else the sample feed; None without the [hardware] extra (it says so)."""
    if spec:
        return spec, False
    try:
        open_source("0").close()
    except CameraError:
        try:
            return str(sample_feed(data)), True
        except CameraError as exc:
            print(f"no sample camera feed: {exc}")
            return None, False
    return "0", False


def sample_feed(data: Path) -> Path:
    """DATA/camera-feed/: each demo QR code as a webcam would see it, with an empty counter
    between them (so the same code, coming round again, is a new scan)."""
    feed = data / "camera-feed"
    if feed.is_dir() and any(feed.iterdir()):
        return feed
    try:
        import cv2

        from hardware.synthetic import Look, frame_with_codes
    except ImportError as exc:
        raise CameraError(needs("the sample camera feed", exc)) from None
    feed.mkdir(parents=True, exist_ok=True)
    codes = {path.stem: path for path in ImageSource.folder(data / "qr").paths}
    decoder = QrDecoder()
    ordered = [name for name in FEED_ORDER if name in codes]
    ordered += sorted(set(codes) - set(ordered))
    for index, name in enumerate(ordered):
        frame = ImageSource([codes[name]]).read()
        texts = decoder.decode(frame).codes if frame is not None else ()
        if not texts:
            continue
        look = Look(size=0.55, angle=(-1) ** index * 8, noise=4, seed=index)
        cv2.imwrite(str(feed / f"{index * 2:02d}-{name}.png"), frame_with_codes(texts, look=look))
        cv2.imwrite(str(feed / f"{index * 2 + 1:02d}-counter.png"), frame_with_codes([]))
    return feed
