"""Which addresses the server may call: public ones only, unless the operator allows
loopback and private networks (tests, the demo). Otherwise a vendor could make the server
call into the network it runs in (SSRF)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

__all__ = ["RefusedAddress", "check_url", "resolve"]

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class RefusedAddress(ValueError):
    """The URL is malformed, or names an address the server may not call; the message
    says which and why, in plain words."""


def _host_and_port(url: str) -> tuple[str, int]:
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # such as an unclosed [IPv6 address
        raise RefusedAddress(f"This is not a URL: {exc}.") from None
    if parts.scheme not in ("https", "http"):
        raise RefusedAddress("The URL must start with https:// (or http://).")
    if not parts.hostname:
        raise RefusedAddress("The URL has no host name.")
    if parts.username is not None or parts.password is not None:
        raise RefusedAddress("Leave credentials out of the URL: every delivery is signed.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise RefusedAddress("The URL's port is not a number from 1 to 65535.") from None
    return parts.hostname, port


def _literal(host: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _refuse_private(host: str, address: IpAddress) -> None:
    if not address.is_global or address.is_multicast:
        named = str(address) if str(address) == host else f"{host} ({address})"
        raise RefusedAddress(
            f"{named} is a loopback, private or reserved address: webhooks go to public "
            "addresses only."
        )


def check_url(url: str, *, allow_private: bool) -> None:
    """Refuse what can never be sent to: a malformed URL, or — unless `allow_private` — a
    host that is, or resolves now to, a non-public address. A name that does not resolve
    is accepted here (its deliveries fail and are retried); each send checks again."""
    host, port = _host_and_port(url)
    if allow_private:
        return
    literal = _literal(host)
    if literal is not None:
        _refuse_private(host, literal)
        return
    if host.rstrip(".").lower() == "localhost" or host.rstrip(".").endswith(".localhost"):
        raise RefusedAddress(f"{host} is this machine: webhooks go to public addresses only.")
    try:
        resolve(host, port, allow_private=False)
    except UnicodeError:
        raise RefusedAddress(f"{host} is not a valid host name.") from None
    except OSError:
        return


def resolve(host: str, port: int, *, allow_private: bool) -> IpAddress:
    """The address to connect to for `host`: refused (`RefusedAddress`) if any address the
    name has is not public, unless `allow_private`; OSError when it does not resolve,
    UnicodeError when it cannot be a name."""
    literal = _literal(host)
    if literal is not None:
        found = [literal]
    else:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        found = [ipaddress.ip_address(info[4][0]) for info in infos]
    if not allow_private:
        for address in found:
            _refuse_private(host, address)
    return found[0]


def split(url: str) -> tuple[str, int]:
    """The URL's host and port (the URL already passed `check_url`)."""
    return _host_and_port(url)
