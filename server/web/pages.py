"""Templates, headers and the CSRF check of the server's HTML pages (the console, the shop,
the account pages): each part of the site is one `Pages`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import jinja2
from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from .cookies import Csrf, delete_cookie

__all__ = ["PAGE_HEADERS", "Pages", "StaleForm", "see_other", "templates_in", "to_sign_in"]

# Pages are the server's own: no scripts, styles or frames from anywhere else, no caching.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def templates_in(directory: Path) -> Jinja2Templates:
    """The templates in `directory`: every value escaped, a missing one an error."""
    return Jinja2Templates(
        env=jinja2.Environment(
            loader=jinja2.FileSystemLoader(directory),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
    )


def see_other(url: str) -> RedirectResponse:
    """After a form: the page to show next (303, so a reload does not post again)."""
    return RedirectResponse(url, status_code=303, headers=PAGE_HEADERS)


def to_sign_in(
    path: str, session_cookie: str
) -> Callable[[Request, Exception], Awaitable[Response]]:
    """An exception handler for a part of the site (under `path`) whose page needs its
    sign-in: to its sign-in page, its session's cookie (`session_cookie`) deleted."""

    async def handler(_request: Request, _exc: Exception) -> Response:
        response = see_other(f"{path}/sign-in")
        delete_cookie(response, session_cookie, path=path)
        return response

    return handler


class StaleForm(Exception):
    """A form POST without this browser's CSRF token (or not the form its page gave): the
    "That form has expired" page of the `pages` it was sent to."""

    def __init__(self, pages: Pages) -> None:
        super().__init__("a form without this browser's CSRF token")
        self.pages = pages


# Compared (and hashed, as FastAPI's dependency cache does) by identity: one per part.
@dataclass(frozen=True, eq=False)
class Pages:
    """One part of the site's pages: its `templates`, its CSRF cookie, and what each of its
    templates is given besides the page's own (`context`, which a page's own overrides)."""

    templates: Jinja2Templates
    csrf: Csrf
    context: Mapping[str, Any] = field(default_factory=dict)

    def page(
        self,
        request: Request,
        name: str,
        context: Mapping[str, Any] | None = None,
        *,
        status: int = 200,
    ) -> HTMLResponse:
        """The template `name`, with the form's CSRF token (its cookie set when new), and
        the pages' headers."""
        token = self.csrf.token(request)
        response = self.templates.TemplateResponse(
            request,
            name,
            {"csrf": token, **self.context, **(context or {})},
            status_code=status,
            headers=PAGE_HEADERS,
        )
        self.csrf.keep(request, response, token)
        return response

    def csrf_checked(
        self, request: Request, csrf: Annotated[str, Form(max_length=100)] = ""
    ) -> None:
        """A dependency of every form POST: the form's token must be its cookie's."""
        if not self.csrf.matches(request, csrf):
            raise StaleForm(self)

    def install(self, app: FastAPI) -> None:
        """The answer to a `StaleForm`: its pages' stale_form.html, 403."""
        app.add_exception_handler(StaleForm, _stale_form)


async def _stale_form(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StaleForm)
    return exc.pages.page(request, "stale_form.html", status=403)
