"""The console's cookies: the signed-in session, and the CSRF token every form carries
(`server.web.cookies` says how both are kept), limited to /console."""

from __future__ import annotations

from fastapi import Request, Response

from ..accounts.jwt_tokens import CONSOLE_LIFETIME
from ..web.cookies import Csrf, delete_cookie, set_cookie

__all__ = [
    "CSRF",
    "CSRF_COOKIE",
    "PATH",
    "SESSION_COOKIE",
    "end_session",
    "start_session",
]

PATH = "/console"
SESSION_COOKIE = "tillpoint_console"
CSRF_COOKIE = "tillpoint_console_csrf"
_LIFETIME = int(CONSOLE_LIFETIME.total_seconds())
CSRF = Csrf(CSRF_COOKIE, PATH, _LIFETIME)


def start_session(request: Request, response: Response, token: str) -> None:
    """Signed in: the session's cookie, and a fresh CSRF token (none chosen before sign-in
    outlives it)."""
    set_cookie(request, response, SESSION_COOKIE, token, path=PATH, max_age=_LIFETIME)
    CSRF.renew(request, response)


def end_session(response: Response) -> None:
    delete_cookie(response, SESSION_COOKIE, path=PATH)
