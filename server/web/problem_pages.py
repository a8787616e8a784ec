"""The server's pages' answer to a request the API's machinery refused: no such page, an
address or a form it cannot take, a body too large. The API answers those as problem+json;
under a part of the site that has pages (/console, /shop, /account), that JSON is turned
into one of its pages saying, in plain words, what happened and what to do next, with the
same status (and `Allow`, `Retry-After`, … kept).

One middleware rather than a handler per case: the refusals come from routing (404, 405),
from parameter checks (422), from `server.limits` before any route (a control character in
the address, a body too large) and from any `DomainError` a page did not catch. Each part
installs its own, for its own addresses; the API's keep their answers."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import FastAPI
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sync.wire import text_problem

from ..errors import PROBLEM_BASE
from ..limits import InputLimits
from .pages import Pages

__all__ = ["Explained", "ProblemPages", "Render", "Surface", "explain", "install_problem_pages"]

# Headers of the refusal the page keeps (what the browser or a proxy acts on).
_KEPT = {b"allow", b"retry-after"}


@dataclass(frozen=True)
class Surface:
    """A part of the site's pages, as its problem pages speak of it."""

    prefix: str  # the addresses it answers for: "/console"
    name: str  # "the console": "no page at … in the console", "the console takes less"
    home: tuple[str, str] | None  # where to go on from (address, what its link says), if any
    again: str  # what to do when nothing better can be said
    most_offset: int | None = None  # where it has paged lists: the furthest a page may start


@dataclass(frozen=True)
class Explained:
    """A refusal in words: the page's heading, its sentences, and where to go next."""

    heading: str
    words: tuple[str, ...]
    link: tuple[str, str] | None  # (address, what the link says)


Render = Callable[[Request, Explained, int], Awaitable[Response]]


def rendered_by(pages: Pages) -> Render:
    """The page "problem.html" of `pages`, saying what was refused, with its status."""

    async def render(request: Request, said: Explained, status: int) -> Response:
        return pages.page(request, "problem.html", {"said": said}, status=status)

    return render


def _quoted(text: str, most: int = 40) -> str:
    """Part of the address, as a page may quote it: short, invisible characters shown as �."""
    shown = "".join("�" if text_problem(c) else c for c in text[:most])
    return shown + ("…" if len(text) > most else "")


def _without(path: str, query: str, names: set[str]) -> str:
    """The page's address without the parameters `names`: what it shows when they are left
    out (a list's first page)."""
    kept = [(n, v) for n, v in parse_qsl(query, keep_blank_values=True) if n not in names]
    return f"{path}?{urlencode(kept)}" if kept else path


def _address_words(name: str, value: str | None, invisible: bool, most_offset: int | None) -> str:
    if invisible:
        return (
            f"The address's “{_quoted(name)}” has an invisible character in it (pasted text "
            "can bring one in), so the page was not opened."
        )
    sent = f"{_quoted(name)}={_quoted(value or '')}"
    if name == "offset" and most_offset is not None:
        return (
            f"The address asks for the page at “{sent}”, which no list has: pages start at "
            f"whole numbers from 0 to {most_offset:,}."
        )
    return f"The address's “{sent}” is not something this page can take."


def explain(
    method: str, path: str, query: str, problem: Mapping[str, Any], surface: Surface
) -> Explained:
    """What the problem+json `problem`, answered to `method` `path`?`query`, means to
    someone using `surface`'s pages."""
    kind = str(problem.get("type", "")).removeprefix(PROBLEM_BASE)
    if kind == "not-found":  # no route (a refusal of the page's own says what it is)
        return Explained(
            "No such page",
            (
                f"There is no page at {_quoted(path, 100)} in {surface.name}: the address "
                "may be mistyped, or an old link.",
            ),
            surface.home,
        )
    if kind == "method-not-allowed":
        return _wrong_method(method, path, surface)
    if kind == "body-too-large":
        most = problem.get("max_bytes")
        limit = f" (at most {most:,} bytes)" if isinstance(most, int) else ""
        taker = surface.name[:1].upper() + surface.name[1:]
        return Explained(
            "That form sent too much",
            (f"{taker} takes less{limit}: nothing changed. Go back and send less.",),
            surface.home,
        )
    if kind == "invalid-request":
        return _invalid(path, query, problem.get("errors") or [], surface)
    return Explained(
        str(problem.get("title") or "That could not be done"),
        (str(problem.get("detail") or "Nothing changed."),),
        surface.home,
    )


def _wrong_method(method: str, path: str, surface: Surface) -> Explained:
    if method in ("GET", "HEAD"):  # a form's address, opened as a page
        return Explained(
            "That address is for a form",
            (
                f"{_quoted(path, 100)} is where a form's button sends it, not a page to open: "
                "nothing changed. Go back to the page and use its button.",
            ),
            surface.home,
        )
    # Not something a browser's link or form sends (PUT, DELETE, …), or a form sent to a
    # page's address.
    return Explained(
        "That address cannot take this",
        (
            f"{_quoted(path, 100)} does not take what was sent to it (a {_quoted(method, 20)} "
            f"request): nothing changed. {surface.again}",
        ),
        surface.home,
    )


def _invalid(path: str, query: str, errors: list[Any], surface: Surface) -> Explained:
    fields = [str(e.get("field", "")) for e in errors if isinstance(e, Mapping)]
    sent = dict(parse_qsl(query, keep_blank_values=True))
    if "path" in fields:  # refused by `server.limits` before any page saw it
        return Explained(
            "That address is not right",
            (
                "The address has an invisible character in it (pasted text can bring one "
                "in), so there is no such page.",
            ),
            surface.home,
        )
    named = [f.removeprefix("query.") for f in fields if f.startswith("query.")]
    if named:
        words = []
        for name in dict.fromkeys(named):
            value = sent.get(name)
            invisible = value is None or text_problem(value) is not None or text_problem(name)
            words.append(_address_words(name, value, bool(invisible), surface.most_offset))
        first_page = named == ["offset"] and surface.most_offset is not None
        link = "Go to the first page" if first_page else "Open the page without it"
        return Explained(
            "That address is not right",
            tuple(words),
            (_without(path, query, set(named)), link),
        )
    if any(f.startswith("body") for f in fields):
        names = ", ".join(
            f"“{_quoted(f.removeprefix('body.'))}”" for f in fields if f.startswith("body.")
        )
        what = f" ({names})" if names else ""
        return Explained(
            "That form could not be used",
            (
                f"It sent something its page does not offer{what}: nothing changed. Open the "
                "page again and send the form from it.",
            ),
            surface.home,
        )
    return Explained(
        "That request could not be used", (f"Nothing changed. {surface.again}",), surface.home
    )


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


def _is_problem(start: Message) -> bool:
    return any(
        name == b"content-type" and value.startswith(b"application/problem+json")
        for name, value in start.get("headers", [])
    )


class ProblemPages:
    """A plain ASGI middleware: under `surface`'s prefix, a problem+json answer becomes the
    page `render` makes of it, with the answer's status."""

    def __init__(self, app: ASGIApp, surface: Surface, render: Render) -> None:
        self.app, self.surface, self.render = app, surface, render

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _under(scope["path"], self.surface.prefix):
            await self.app(scope, receive, send)
            return
        held: Message | None = None
        body = bytearray()

        async def watched(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start" and _is_problem(message):
                held = message
            elif held is not None and message["type"] == "http.response.body":
                body.extend(message.get("body", b""))
            else:
                await send(message)

        await self.app(scope, receive, watched)
        if held is None:
            return
        try:
            problem = json.loads(body)
        except ValueError:
            problem = {}
        query = scope.get("query_string", b"").decode("latin-1")
        said = explain(
            scope["method"],
            scope["path"],
            query,
            problem if isinstance(problem, dict) else {},
            self.surface,
        )
        page = await self.render(Request(scope, receive), said, held["status"])
        for name, value in held.get("headers", []):
            if name in _KEPT:
                page.raw_headers.append((name, value))
        await page(scope, receive, send)


def install_problem_pages(app: FastAPI, surface: Surface, render: Render) -> None:
    """`surface`'s problem pages, made by `render`. Just outside the input limits, so that
    they see what those refuse too, and inside the request log, so that the log has the
    page's status and time."""
    pages = Middleware(ProblemPages, surface=surface, render=render)
    outermost_first: list[object] = [m.cls for m in app.user_middleware]
    app.user_middleware.insert(outermost_first.index(InputLimits), pages)
