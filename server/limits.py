"""Limits every request meets before any route sees it (DESIGN.md §12): a body of at most
`max_body_bytes`, and a path, query and headers free of control characters.

The body is counted as it streams in, not trusted from Content-Length, and held until it is
whole (the routes take JSON, read whole anyway), so a route never starts on a body that will
turn out too large. A NUL in a path or query parameter would reach the database (PostgreSQL
refuses NUL in text); it is answered here with the same problem a bad body field gets."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sync.wire import text_problem

from .problems import problem_response

__all__ = ["DEFAULT_MAX_BODY_BYTES", "InputLimits"]

DEFAULT_MAX_BODY_BYTES = 1024 * 1024

# Header values may hold tab (and obs-text); no other control character.
_HEADER_REFUSED = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")


class BodyTooLarge(Exception):
    pass


class InputLimits:
    """A plain ASGI middleware (see `server.observability` for why not BaseHTTPMiddleware)."""

    def __init__(self, app: ASGIApp, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app, self.max_body_bytes = app, max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refused = _refused_parts(scope)
        if refused:
            await _invalid(refused)(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await self._too_large()(scope, receive, send)
            return
        try:
            body = await self._read_body(receive)
        except BodyTooLarge:
            await self._too_large()(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read_body(self, receive: Receive) -> Message:
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return message  # the client went away: let the app see it
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise BodyTooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

    def _too_large(self) -> ASGIApp:
        return problem_response(
            413,
            "body-too-large",
            "Request body too large",
            f"The request body may be at most {self.max_body_bytes} bytes: send less.",
            max_bytes=self.max_body_bytes,
        )


def _replay(first: Message, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return first
        return await receive()

    return replay


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _refused_parts(scope: Scope) -> list[dict[str, str]]:
    """Each path, query or header part that holds a control character, as the validation
    problem names a field."""
    errors = []
    problem = text_problem(scope["path"])
    if problem is not None:
        errors.append({"field": "path", "message": problem})
    query = scope.get("query_string", b"").decode("latin-1")
    if query:
        for name, value in parse_qsl(query, keep_blank_values=True):
            problem = text_problem(name) or text_problem(value)
            if problem is not None:
                errors.append({"field": f"query.{_shown(name)}", "message": problem})
    for name, raw in scope["headers"]:
        if _HEADER_REFUSED.search(raw):
            message = "contains a control character"
            errors.append({"field": f"header.{name.decode('latin-1')}", "message": message})
    return errors


def _shown(name: str) -> str:
    """A parameter's name as an answer may quote it: short, and control characters out."""
    return "".join(c if text_problem(c) is None else "?" for c in name[:40])


def _invalid(errors: list[dict[str, str]]) -> ASGIApp:
    fields = ", ".join(e["field"] for e in errors)
    return problem_response(
        422,
        "invalid-request",
        "The request is not valid",
        f"Fix these fields and send it again: {fields}",
        errors=errors,
    )
