"""A tiny reverse proxy in front of a test's server, as a shop's nginx is: it passes requests
on, or answers 502 Bad Gateway (an HTML page) itself — before forwarding (the server never
reached) or after (the server has done it, and its answer is lost on the way back)."""

from __future__ import annotations

import http.client
import threading
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

__all__ = ["GatewayProxy", "Rule"]

# Headers the proxy sets itself, or that belong to one connection, not the answer.
_HOP_BY_HOP = {"connection", "transfer-encoding", "content-length", "date", "server"}
BAD_GATEWAY = b"<html><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>"
GATEWAY_TIMEOUT = b"<html><body><h1>504 Gateway Time-out</h1><hr>nginx</body></html>"


class Rule(StrEnum):
    PASS = "pass"
    BAD_GATEWAY = "502"  # answered by the proxy; nothing forwarded
    BAD_GATEWAY_AFTER = "502after"  # forwarded, the server answers, the proxy says 502
    GATEWAY_TIMEOUT_AFTER = "504after"  # forwarded, the server answers, the proxy says 504


class GatewayProxy:
    """Listens on 127.0.0.1 (`base`) and forwards to `upstream`; `rules` maps a part of a
    path to what the proxy does with requests for it (anything else passes)."""

    def __init__(self, upstream: str) -> None:
        self.rules: dict[str, Rule] = {}
        self.forwarded: list[str] = []  # the paths the server was asked for
        target = urlsplit(upstream)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._handle()

            def do_POST(self) -> None:
                self._handle()

            def log_message(self, format: str, *args: object) -> None:
                pass  # quiet

            def _handle(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                rule = next((r for part, r in proxy.rules.items() if part in self.path), None)
                if rule is Rule.BAD_GATEWAY:
                    self._bad_gateway()
                    return
                upstream = http.client.HTTPConnection(target.hostname or "", target.port, 30)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                upstream.request(self.command, self.path, body, headers)
                answer = upstream.getresponse()
                content = answer.read()
                upstream.close()
                proxy.forwarded.append(self.path)
                if rule is Rule.BAD_GATEWAY_AFTER:
                    self._bad_gateway()
                    return
                if rule is Rule.GATEWAY_TIMEOUT_AFTER:
                    self._bad_gateway(504, GATEWAY_TIMEOUT)
                    return
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in _HOP_BY_HOP:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def _bad_gateway(self, status: int = 502, page: bytes = BAD_GATEWAY) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> GatewayProxy:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
