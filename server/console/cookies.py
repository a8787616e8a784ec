"""The console's cookies: the signed-in session, and the CSRF token every form carries.

Both are HttpOnly, SameSite=Strict, limited to /console, and Secure when the page came over
https or the server's public address (`TILLPOINT_PUBLIC_URL`) is an https one. The CSRF
token is a double-submit one: a random value in its cookie that each form repeats in a
hidden field; another site can make a browser post a form, but cannot read the cookie to
fill the field in.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request, Response

from ..accounts.jwt_tokens import CONSOLE_LIFETIME

__all__ = [
    "CSRF_COOKIE",
    "PATH",
    "SESSION_COOKIE",
    "csrf_matches",
    "csrf_token",
    "end_session",
    "keep_csrf",
    "start_session",
]

PATH = "/console"
SESSION_COOKIE = "tillpoint_console"
CSRF_COOKIE = "tillpoint_console_csrf"


def _over_https(request: Request) -> bool:
    """The page came over https, or the server is reached at an https address (behind a
    proxy that ends TLS, such as the compose file's Caddy)."""
    public_url: str = request.app.state.settings.public_url
    return request.url.scheme == "https" or public_url.startswith("https://")


def _set(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=PATH,
        secure=_over_https(request),
        httponly=True,
        samesite="strict",
    )


def csrf_token(request: Request) -> str:
    """The token this browser's forms carry: its cookie's, or a new one (`keep_csrf` then
    sets the cookie on the response)."""
    return request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)


def keep_csrf(request: Request, response: Response, token: str) -> None:
    if request.cookies.get(CSRF_COOKIE) != token:
        _set(request, response, CSRF_COOKIE, token, int(CONSOLE_LIFETIME.total_seconds()))


def csrf_matches(request: Request, sent: str) -> bool:
    expected = request.cookies.get(CSRF_COOKIE)
    return bool(expected) and bool(sent) and hmac.compare_digest(expected or "", sent)


def start_session(request: Request, response: Response, token: str) -> None:
    """Signed in: the session's cookie, and a fresh CSRF token (none chosen before sign-in
    outlives it)."""
    _set(request, response, SESSION_COOKIE, token, int(CONSOLE_LIFETIME.total_seconds()))
    _set(
        request,
        response,
        CSRF_COOKIE,
        secrets.token_urlsafe(32),
        int(CONSOLE_LIFETIME.total_seconds()),
    )


def end_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path=PATH, httponly=True, samesite="strict")
