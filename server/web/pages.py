"""Templates and headers for the server's HTML pages."""

from __future__ import annotations

from pathlib import Path

import jinja2
from fastapi.responses import RedirectResponse
from fastapi.templating import Jinja2Templates

__all__ = ["PAGE_HEADERS", "see_other", "templates_in"]

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
