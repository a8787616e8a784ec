"""The pages' cookies: HttpOnly, SameSite=Strict, limited to their part of the site, and
Secure when the page came over https or the server's public address
(`TILLPOINT_PUBLIC_URL`) is an https one.

The CSRF token is a double-submit one: a random value in its cookie that each form repeats
in a hidden field; another site can make a browser post a form, but cannot read the cookie
to fill the field in."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from fastapi import Request, Response

__all__ = ["Csrf", "delete_cookie", "over_https", "set_cookie"]


def over_https(request: Request) -> bool:
    """The page came over https, or the server is reached at an https address (behind a
    proxy that ends TLS, such as the compose file's Caddy)."""
    public_url: str = request.app.state.settings.public_url
    return request.url.scheme == "https" or public_url.startswith("https://")


def set_cookie(
    request: Request, response: Response, name: str, value: str, *, path: str, max_age: int
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=path,
        secure=over_https(request),
        httponly=True,
        samesite="strict",
    )


def delete_cookie(response: Response, name: str, *, path: str) -> None:
    response.delete_cookie(name, path=path, httponly=True, samesite="strict")


@dataclass(frozen=True, slots=True)
class Csrf:
    """One part of the site's CSRF cookie (`name`, sent only under `path`)."""

    name: str
    path: str
    max_age: int

    def token(self, request: Request) -> str:
        """The token this browser's forms carry: its cookie's, or a new one (`keep` then
        sets the cookie on the response)."""
        return request.cookies.get(self.name) or secrets.token_urlsafe(32)

    def keep(self, request: Request, response: Response, token: str) -> None:
        if request.cookies.get(self.name) != token:
            self.renew(request, response, token)

    def renew(self, request: Request, response: Response, token: str | None = None) -> None:
        value = token or secrets.token_urlsafe(32)
        set_cookie(request, response, self.name, value, path=self.path, max_age=self.max_age)

    def matches(self, request: Request, sent: str) -> bool:
        expected = request.cookies.get(self.name)
        return bool(expected) and bool(sent) and hmac.compare_digest(expected or "", sent)
