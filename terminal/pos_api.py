"""`tillpoint pos-api`: the headless till offered to a POS on the same machine over HTTP.

Loopback only — it refuses any other address — and every request carries the bearer token
kept beside the terminal's database (made on first start, mode 0600) or given by
TILLPOINT_POS_API_TOKEN. The answers are the JSON documents `tillpoint redeem|balance|void
--json` print; the stdlib's http.server is enough for one POS on one machine, so the terminal
needs no web framework. A background thread syncs the outbox as the screens do.
"""

from __future__ import annotations

import argparse
import hmac
import ipaddress
import json
import os
import secrets
import socket
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sync.cli.common import EXIT_OK, CommandError, Commands

from .cli import DEFAULT_STORE
from .core.headless import (
    EXIT_BAD_INPUT,
    EXIT_DAMAGED,
    EXIT_DECLINED,
    EXIT_NOT_READY,
    EXIT_UNREACHABLE,
    Answer,
    BadInputError,
    HeadlessError,
    HeadlessTill,
    damage_told,
)
from .core.headless import EXIT_OK as APPROVED
from .headless_cli import open_till

__all__ = ["PosApiServer", "loopback_host", "pos_api_token", "register_pos_api"]

TOKEN_SETTING = "TILLPOINT_POS_API_TOKEN"  # noqa: S105 - a setting's name, not a secret
DEFAULT_PORT = 8765
MAX_BODY = 16 * 1024  # a QR code and an amount; nothing a POS sends is larger

# Each route and the fields its body may have. A field it does not have is refused, as the
# server's API refuses one (docs/api.md): a POS's `"tip": 5` would otherwise go unnoticed.
FIELDS = {
    "/v1/redeem": ("code", "amount", "cashier"),
    "/v1/balance": ("code",),
    "/v1/void": ("reference",),
}
GET_ROUTES = ("/v1/health",)

# An answer's HTTP status follows its exit code: a decline is an answer, not an error; no
# decision (the server did not answer, and the till could not decide offline) is the status
# of a gateway whose server did not answer, so that no POS takes it for a decline. Neither
# means "nothing was taken" when the server's answer was lost: the reason then says the
# till withdrew the attempt, and the server gives back what it took at the next sync.
STATUS = {
    APPROVED: HTTPStatus.OK,
    EXIT_DECLINED: HTTPStatus.OK,
    EXIT_UNREACHABLE: HTTPStatus.GATEWAY_TIMEOUT,
    EXIT_BAD_INPUT: HTTPStatus.BAD_REQUEST,
    EXIT_NOT_READY: HTTPStatus.SERVICE_UNAVAILABLE,
    EXIT_DAMAGED: HTTPStatus.SERVICE_UNAVAILABLE,
}


def loopback_host(host: str) -> str:
    """`host` when it is this machine's loopback; anything else is refused."""
    if host == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise CommandError(
            f"--host {host!r} is not an IP address: the POS API listens on loopback only "
            "(127.0.0.1 or ::1)"
        ) from None
    if not address.is_loopback:
        raise CommandError(
            f"--host {host} is not a loopback address: the POS API is for a POS on this "
            "machine only (127.0.0.1 or ::1); it never listens on the network"
        )
    return host


def token_file(data: Path) -> Path:
    return data.with_name(data.name + ".pos-api-token")


def pos_api_token(data: Path) -> tuple[str, bool]:
    """The bearer token, and whether it was just made: the setting's, else the one kept beside
    the database, else a new one written there (mode 0600)."""
    given = os.environ.get(TOKEN_SETTING, "").strip()
    if given:
        return given, False
    path = token_file(data)
    if path.is_file():
        return path.read_text(encoding="utf-8").strip(), False
    token = secrets.token_urlsafe(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(token + "\n")
    return token, True


class PosApiServer(ThreadingHTTPServer):
    """The HTTP server; each request runs in its own thread over the one session."""

    daemon_threads = True

    def __init__(self, host: str, port: int, till: HeadlessTill, token: str) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host, port), _Handler)
        self.till = till
        self.token = token


class _Handler(BaseHTTPRequestHandler):
    server: PosApiServer
    server_version = "tillpoint-pos-api"

    def log_message(self, format: str, *args: Any) -> None:
        print(f"pos-api: {format % args}", file=sys.stderr)

    def _send(self, status: int, document: dict[str, Any]) -> None:
        body = json.dumps(document, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _authorised(self) -> bool:
        given = self.headers.get("Authorization", "")
        scheme, _, token = given.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            token.strip().encode(), self.server.token.encode()
        ):
            return True
        self.send_response(HTTPStatus.UNAUTHORIZED)
        body = b'{"error": "unauthorised", "message": "send Authorization: Bearer TOKEN"}'
        self.send_header("WWW-Authenticate", 'Bearer realm="tillpoint"')
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        return False

    def _body(self) -> dict[str, Any] | None:
        try:
            length = int(self.headers.get("Content-Length") or "0")
        except ValueError:
            length = -1
        if not 0 < length <= MAX_BODY:
            self._send(
                HTTPStatus.BAD_REQUEST,
                {
                    "error": "bad_input",
                    "message": f"send a JSON object of at most {MAX_BODY} bytes",
                },
            )
            return None
        try:
            document = json.loads(self.rfile.read(length))
        except ValueError:
            document = None
        if not isinstance(document, dict):
            self._send(
                HTTPStatus.BAD_REQUEST, {"error": "bad_input", "message": "send a JSON object"}
            )
            return None
        return document

    def _not_allowed(self, allowed: str) -> None:
        """405: the path is there, under another method."""
        body = json.dumps(
            {
                "error": "method_not_allowed",
                "message": f"{self.command} {self.path} is not served: use {allowed} {self.path}",
            }
        ).encode()
        self.send_response(HTTPStatus.METHOD_NOT_ALLOWED)
        self.send_header("Allow", allowed)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _not_found(self) -> None:
        message = "the POS API has POST /v1/redeem, /v1/balance and /v1/void, and GET /v1/health"
        self._send(HTTPStatus.NOT_FOUND, {"error": "not_found", "message": message})

    def do_GET(self) -> None:
        if not self._authorised():
            return
        if self.path in GET_ROUTES:
            self._send(HTTPStatus.OK, {"ok": True})
        elif self.path in FIELDS:
            self._not_allowed("POST")
        else:
            self._not_found()

    def do_POST(self) -> None:
        if not self._authorised():
            return
        if self.path not in FIELDS:
            if self.path in GET_ROUTES:
                self._not_allowed("GET")
            else:
                self._not_found()
            return
        body = self._body()
        if body is None:
            return
        unknown = [name for name in body if name not in FIELDS[self.path]]
        if unknown:
            named = ", ".join(repr(name) for name in unknown)
            takes = ", ".join(FIELDS[self.path])
            message = (
                f"unknown field{'s' if len(unknown) > 1 else ''} {named}: POST {self.path} "
                f"takes {takes}; nothing was done"
            )
            self._send(HTTPStatus.BAD_REQUEST, {"error": "bad_input", "message": message})
            return
        till = self.server.till
        try:
            with damage_told(till.session.data):
                answer = self._answer(till, self.path, body)
        except HeadlessError as exc:
            self._send(STATUS.get(exc.exit_code, HTTPStatus.BAD_REQUEST), exc.document())
            return
        finally:
            till.session.release()
        self._send(STATUS.get(answer.exit_code, HTTPStatus.OK), answer.document)

    @staticmethod
    def _answer(till: HeadlessTill, path: str, body: dict[str, Any]) -> Answer:
        def text(name: str, required: bool = True) -> str | None:
            value = body.get(name)
            if value is None and not required:
                return None
            if not isinstance(value, str) or not value.strip():
                raise BadInputError(f"{name!r} must be a string")
            return value

        if path == "/v1/redeem":
            return till.redeem(
                str(text("code")),
                text("amount", required=False),
                text("cashier", required=False),
            )
        if path == "/v1/balance":
            return till.balance(str(text("code")))
        return till.void(str(text("reference")))


def _sync_in_background(till: HeadlessTill, interval: float, stop: threading.Event) -> None:
    while not stop.wait(interval):
        try:
            till.session.sync()
        finally:
            till.session.release()


def register_pos_api(commands: Commands[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "pos-api",
        help="serve the headless till to a POS on this machine (HTTP, loopback only)",
        description="Serve POST /v1/redeem {code, amount?, cashier?}, /v1/balance {code} and "
        "/v1/void {reference} on 127.0.0.1, each answering the JSON `tillpoint redeem|balance|void "
        "--json` print (HTTP 200 for approved and declined alike; 504 when no decision could "
        "be made, as exit code 3: take another payment method, or ask again later. A "
        "decline after the server's answer was lost says in its reason that the till cannot "
        'tell whether the server took it, and "withdrawn" is true; if it did, the till '
        "gives it back automatically when it next syncs. 400 bad input; 401 without "
        "the token; 503 not paired, revoked by the owner, or its database damaged). Requests need "
        "`Authorization: Bearer TOKEN`: the token "
        f"is {TOKEN_SETTING} when set, else the one kept in DATA.pos-api-token, made and "
        "printed on first start. Syncs in the background like the screens.",
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_STORE,
        metavar="FILE",
        help=f"the paired terminal's database (default {DEFAULT_STORE})",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="a loopback address (default 127.0.0.1)"
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}")
    parser.add_argument("--timeout", type=float, default=3.0, metavar="SECONDS")
    parser.add_argument("--sync-interval", type=float, default=10.0, metavar="SECONDS")
    parser.set_defaults(handler=run_pos_api)


def run_pos_api(args: argparse.Namespace) -> int:
    host = loopback_host(args.host)
    try:
        till = open_till(args.data, args.timeout)
    except HeadlessError as exc:
        raise CommandError(str(exc), exc.exit_code) from None
    if not till.session.store.paired():
        raise CommandError(
            f"{args.data} is not paired yet: run `tillpoint terminal pair` first", EXIT_NOT_READY
        )
    token, made = pos_api_token(args.data)
    try:
        server = PosApiServer(host, args.port, till, token)
    except OSError as exc:
        raise CommandError(f"cannot listen on {host}:{args.port}: {exc.strerror}") from None
    if made:
        print(f"POS API token (shown once; kept in {token_file(args.data)}): {token}", flush=True)
    stop = threading.Event()
    syncing = threading.Thread(
        target=_sync_in_background, args=(till, args.sync_interval, stop), daemon=True
    )
    syncing.start()
    port = server.server_address[1]
    shown = f"[{host}]" if ":" in host else host
    print(f"POS API on http://{shown}:{port}/v1/ (Ctrl+C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    finally:
        stop.set()
        server.server_close()
        till.session.close()
    return EXIT_OK
