"""What `tillpoint terminal --serve` does before serving: the address rule and the access code."""

from __future__ import annotations

import ipaddress
import os
import shlex
import sys
from collections.abc import Sequence
from urllib.parse import urlsplit

from .server import DEFAULT_PORT, WebTerminal
from .sign_in import ACCESS_CODE_SETTING, SignIn, checked_access_code, new_access_code

__all__ = ["AddressError", "check_address", "serve"]


class AddressError(ValueError):
    """An address the till must not be served on as asked."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: it may resolve to anything


def check_address(host: str, public_url: str | None, port: int = DEFAULT_PORT) -> None:
    """The till is never open to the network as it is: on another address than loopback it
    must sit behind HTTPS (a reverse proxy), so the access code and the session cookie never
    cross the network in clear text."""
    if public_url is not None:
        parts = urlsplit(public_url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path.strip("/"):
            raise AddressError(
                f"--public-url {public_url!r} is not an address like https://till.example.com "
                "(a scheme and a host, no path)"
            )
    if is_loopback(host):
        return
    if public_url is None or not public_url.startswith("https://"):
        raise AddressError(
            f"--host {host} would open the till to the network over plain HTTP. Serve it on "
            f"127.0.0.1 and reach it from another machine through SSH (ssh -N -L {port}:"
            f"127.0.0.1:{port} till-box), or put an HTTPS reverse proxy in front and give its "
            "address with --public-url https://…"
        )


def serve(
    app_command: Sequence[str],
    *,
    host: str,
    port: int,
    public_url: str | None = None,
) -> None:
    """Serve `tillpoint terminal ARGS` (`app_command`, after `tillpoint`) until Ctrl+C."""
    check_address(host, public_url, port)
    given = os.environ.get(ACCESS_CODE_SETTING, "")
    code = checked_access_code(given) if given.strip() else new_access_code()
    # `exec`: the shell textual-serve starts becomes the app, so ending it ends the app.
    command = "exec " + shlex.join([sys.executable, "-m", "sync.cli", *app_command])
    server = WebTerminal(command, SignIn(code), host=host, port=port, public_url=public_url)
    shown_host = f"[{host}]" if ":" in host else host
    address = public_url or f"http://{shown_host}:{port}"

    def started() -> None:
        print(f"Tillpoint terminal in a browser: {address}/", flush=True)
        if given.strip():
            print(f"  access code: the one in {ACCESS_CODE_SETTING}", flush=True)
        else:
            print(f"  access code: {code}  (a new one at each start)", flush=True)
        print("  one browser tab at a time; Ctrl+C stops serving", flush=True)

    server.run(started)
