"""The console's answer to a request the API's machinery refused: no such page, an address
or a form it cannot take, a body too large. The API answers those as problem+json; under
/console that JSON is turned into a page saying, in an operator's words, what happened and
what to do next, with the same status (and `Allow`, `Retry-After`, … kept).

One middleware rather than a handler per case: the refusals come from routing (404, 405),
from parameter checks (422), from `server.limits` before any route (a control character in
the address, a body too large) and from any `DomainError` a page did not catch. Requests
outside /console pass through untouched (the API and the shop keep their own answers)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sync.wire import text_problem

from ..errors import PROBLEM_BASE

__all__ = ["Explained", "ProblemPages", "explain"]

HOME = ("/console/", "Go to the console's home page")
# Headers of the refusal the page keeps (what the browser or a proxy acts on).
_KEPT = {b"allow", b"retry-after"}


@dataclass(frozen=True)
class Explained:
    """A refusal in words: the page's heading, its sentences, and where to go next."""

    heading: str
    words: tuple[str, ...]
    link: tuple[str, str]  # (address, what the link says)


Render = Callable[[Request, Explained, int], Awaitable[Response]]


def _quoted(text: str, most: int = 40) -> str:
    """Part of the address, as a page may quote it: short, invisible characters shown as �."""
    shown = "".join("�" if text_problem(c) else c for c in text[:most])
    return shown + ("…" if len(text) > most else "")


def _without(path: str, query: str, names: set[str]) -> str:
    """The page's address without the parameters `names`: what it shows when they are left
    out (a list's first page)."""
    kept = [(n, v) for n, v in parse_qsl(query, keep_blank_values=True) if n not in names]
    return f"{path}?{urlencode(kept)}" if kept else path


def _address_words(name: str, value: str | None, invisible: bool, most_offset: int) -> str:
    if invisible:
        return (
            f"The address's “{_quoted(name)}” has an invisible character in it (pasted text "
            "can bring one in), so the page was not opened."
        )
    sent = f"{_quoted(name)}={_quoted(value or '')}"
    if name == "offset":
        return (
            f"The address asks for the page at “{sent}”, which no list has: pages start at "
            f"whole numbers from 0 to {most_offset:,}."
        )
    return f"The address's “{sent}” is not something this page can take."


def explain(path: str, query: str, problem: Mapping[str, Any], *, most_offset: int) -> Explained:
    """What the problem+json `problem`, answered to `path`?`query`, means to an operator.
    `most_offset` is the furthest a list's page may start."""
    kind = str(problem.get("type", "")).removeprefix(PROBLEM_BASE)
    if kind == "not-found":  # no route (a refusal of the console's own says what it is)
        return Explained(
            "No such page",
            (
                f"There is no page at {_quoted(path, 100)} in the console: the address may be "
                "mistyped, or an old link.",
            ),
            HOME,
        )
    if kind == "method-not-allowed":
        return Explained(
            "That address is for a form",
            (
                f"{_quoted(path, 100)} is where a form's button sends it, not a page to open: "
                "nothing changed. Go back to the page and use its button.",
            ),
            HOME,
        )
    if kind == "body-too-large":
        most = problem.get("max_bytes")
        limit = f" (at most {most:,} bytes)" if isinstance(most, int) else ""
        return Explained(
            "That form sent too much",
            (f"The console takes less{limit}: nothing changed. Go back and send less.",),
            HOME,
        )
    if kind == "invalid-request":
        return _invalid(path, query, problem.get("errors") or [], most_offset)
    return Explained(
        str(problem.get("title") or "That could not be done"),
        (str(problem.get("detail") or "Nothing changed."),),
        HOME,
    )


def _invalid(path: str, query: str, errors: list[Any], most_offset: int) -> Explained:
    fields = [str(e.get("field", "")) for e in errors if isinstance(e, Mapping)]
    sent = dict(parse_qsl(query, keep_blank_values=True))
    if "path" in fields:  # refused by `server.limits` before any page saw it
        return Explained(
            "That address is not right",
            (
                "The address has an invisible character in it (pasted text can bring one "
                "in), so there is no such page.",
            ),
            HOME,
        )
    named = [f.removeprefix("query.") for f in fields if f.startswith("query.")]
    if named:
        words = []
        for name in dict.fromkeys(named):
            value = sent.get(name)
            invisible = value is None or text_problem(value) is not None or text_problem(name)
            words.append(_address_words(name, value, bool(invisible), most_offset))
        link = "Go to the first page" if named == ["offset"] else "Open the page without it"
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
            HOME,
        )
    return Explained(
        "That request could not be used",
        ("Nothing changed. Open the page again from the console's menu.",),
        HOME,
    )


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


def _is_problem(start: Message) -> bool:
    return any(
        name == b"content-type" and value.startswith(b"application/problem+json")
        for name, value in start.get("headers", [])
    )


class ProblemPages:
    """A plain ASGI middleware: under `prefix`, a problem+json answer becomes the page
    `render` makes of it, with the answer's status."""

    def __init__(self, app: ASGIApp, prefix: str, render: Render, most_offset: int) -> None:
        self.app, self.prefix, self.render, self.most_offset = app, prefix, render, most_offset

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _under(scope["path"], self.prefix):
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
            scope["path"],
            query,
            problem if isinstance(problem, dict) else {},
            most_offset=self.most_offset,
        )
        page = await self.render(Request(scope, receive), said, held["status"])
        for name, value in held.get("headers", []):
            if name in _KEPT:
                page.raw_headers.append((name, value))
        await page(scope, receive, send)
