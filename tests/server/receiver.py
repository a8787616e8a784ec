"""A webhook receiver on loopback: a real HTTP server that keeps every request it is sent and
answers as a test scripts it (a status and body each, then 200; or no answer at all)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook

HANG = -1  # a scripted answer: none at all (the sender's timeout decides)


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: str

    def json(self) -> Any:
        return json.loads(self.body)

    def verified_by(self, secret: str) -> bool:
        """Whether `secret` signed it, as a receiver checks (the spec's 5-minute window)."""
        try:
            Webhook(secret).verify(self.body, self.headers)
        except Exception:
            return False
        return True


class Receiver:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.script: list[tuple[int, str, dict[str, str]]] = []
        self.refusing: list[str] = []  # bodies with one of these always get a 500
        self.lock = threading.Lock()
        self.released = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length).decode()
                headers: dict[str, str] = {}
                with receiver.lock:
                    receiver.received.append(
                        Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    if any(marker in body for marker in receiver.refusing):
                        status, text = 500, "not this one"
                    elif receiver.script:
                        status, text, headers = receiver.script.pop(0)
                    else:
                        status, text = 200, "ok"
                if status == HANG:
                    receiver.released.wait(30)
                    return
                payload = text.encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def answer(self, status: int, text: str = "", headers: dict[str, str] | None = None) -> None:
        """The next request gets this answer (in the order given)."""
        with self.lock:
            self.script.append((status, text, headers or {}))

    def refuse(self, marker: str) -> None:
        """Answer 500 to every request whose body contains `marker`."""
        with self.lock:
            self.refusing.append(marker)


@contextmanager
def receiving() -> Iterator[Receiver]:
    receiver = Receiver()
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.released.set()
        receiver.server.shutdown()
        receiver.server.server_close()
