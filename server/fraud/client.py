"""Who is calling: the client device of a request, from its headers and address."""

from __future__ import annotations

from fastapi import Request

from .service import Client

__all__ = ["INSTALL_ID_HEADER", "client_of"]

INSTALL_ID_HEADER = "X-Install-Id"  # an app's id for its installation, sent on every request


def client_of(request: Request) -> Client:
    return Client(
        install_id=(request.headers.get(INSTALL_ID_HEADER) or "")[:100] or None,
        user_agent=(request.headers.get("User-Agent") or "")[:300],
        address=(request.client.host if request.client else "unknown")[:64],
    )
