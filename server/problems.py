"""Errors as RFC 9457 problem+json with a stable ``type``, and their handlers.

Services raise `server.errors.DomainError`s; one handler here answers them. `Problem` is for
what only the HTTP layer knows (routers and their dependencies: sign-in, rate limits).

Who may use a route is answered before what the request should say: a route checks its
caller in a dependency, which FastAPI runs before it validates the path, query and body, and
whose refusal ends the request there. A route that checks its caller inside its work instead
(a lane's one thread hop reads the caller with everything else) names that check with
`checked_first`, and an invalid request runs it before its 422."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from .errors import PROBLEM_BASE, DomainError

__all__ = [
    "PROBLEM_BASE",
    "AccessCheck",
    "Endpoint",
    "Problem",
    "checked_first",
    "install_problem_handlers",
    "problem_response",
]

MEDIA_TYPE = "application/problem+json"


class Problem(Exception):
    """An error to answer with: `kind` becomes the stable type URI."""

    def __init__(
        self,
        status: int,
        kind: str,
        title: str,
        detail: str,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status, self.kind, self.title, self.detail = status, kind, title, detail
        self.headers = headers or {}
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {
            "type": PROBLEM_BASE + self.kind,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            **self.extra,
        }


def problem_response(
    status: int,
    kind: str,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    problem = Problem(status, kind, title, detail, headers, **extra)
    return JSONResponse(
        problem.body(), status_code=status, media_type=MEDIA_TYPE, headers=problem.headers
    )


def _keep(sessions: sessionmaker[Session], rows: list[object]) -> None:
    """Write what a refusal keeps (its own record), its request's changes rolled back."""
    with sessions() as session:
        session.add_all(rows)
        session.commit()


def _quotable(text: str, limit: int = 200) -> str:
    """Part of a request quoted back in a problem: short, and encodable (a lone surrogate
    in a key would otherwise fail the answer itself)."""
    short = text if len(text) <= limit else text[:limit] + "…"
    return short.encode("utf-8", "backslashreplace").decode("utf-8")


def _field(error: Any) -> str:
    return ".".join(_quotable(str(p)) for p in error["loc"])


def _message(error: Any) -> str:
    """Pydantic's message, or plainer words where it misleads: a text over its length is
    counted in characters (a check that runs first makes pydantic say "items")."""
    if error["type"] == "too_long" and isinstance(error.get("input"), str):
        most = (error.get("ctx") or {}).get("max_length")
        return f"At most {most} characters, not {len(error['input'])}: shorten it."
    if error["type"] == "extra_forbidden":
        return "This request has no such field: check its spelling against /docs, or leave it out."
    if error["type"] in ("too_short", "string_too_short") and isinstance(error.get("input"), str):
        least = (error.get("ctx") or {}).get("min_length")
        if not error["input"]:
            plural = "" if least == 1 else "s"
            return f"At least {least} character{plural}: it may not be empty."
        if not error["input"].strip():
            return "It may not be blank: write something other than spaces."
        return f"At least {least} characters, not {len(error['input'])}: lengthen it."
    return str(error["msg"])


def _unreadable_body(request: Request, errors: Any) -> str | None:
    """What to do when the body could not be read as a JSON object at all (not JSON, or
    not sent as JSON), rather than naming a character's position as a field."""
    for error in errors:
        if error["type"] == "json_invalid":
            return 'The body is not valid JSON: send a JSON object, such as {"name": "…"}.'
        if tuple(error["loc"]) == ("body",) and error["type"] in ("model_attributes_type",
                                                                   "dict_type"):  # fmt: skip
            sent = request.headers.get("content-type", "")
            if "json" not in sent:
                return (
                    f"The body was sent as {_quotable(sent, 60) or 'no content type'}: send it "
                    "as JSON, with the header Content-Type: application/json."
                )
    return None


_STATUS_KINDS = {
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    401: ("unauthorized", "Not signed in"),
    403: ("forbidden", "Not allowed"),
}


AccessCheck = Callable[[Request], Awaitable[None]]
"""Whether the caller may use a route: returns, or raises the `Problem` or `DomainError` to
answer instead."""

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])
"""A route's endpoint: what a decorator put under the route's own takes and gives back."""

# Each route's endpoint (the function `request.scope["endpoint"]` names) and its check.
_CHECKED_FIRST: dict[Callable[..., Any], AccessCheck] = {}


def checked_first(check: AccessCheck) -> Callable[[Endpoint], Endpoint]:
    """Put under a route's decorator whose endpoint checks its caller in its work rather
    than in a dependency: a request that is not valid (its body, query or path) runs `check`
    first, so that someone who may not use the route is refused (401, 403) whatever the
    request says, as the routes checked by a dependency are."""

    def named(endpoint: Endpoint) -> Endpoint:
        _CHECKED_FIRST[endpoint] = check
        return endpoint

    return named


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def on_problem(_: Request, exc: Problem) -> JSONResponse:
        return problem_response(
            exc.status, exc.kind, exc.title, exc.detail, exc.headers, **exc.extra
        )

    @app.exception_handler(DomainError)
    async def on_refused(request: Request, exc: DomainError) -> JSONResponse:
        if exc.kept:
            # The request's own session has rolled back and closed by now.
            await run_in_threadpool(_keep, request.app.state.sessions, exc.kept)
        return JSONResponse(exc.body(), status_code=exc.status, media_type=MEDIA_TYPE)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        found = exc.errors()
        check = _CHECKED_FIRST.get(request.scope.get("endpoint"))  # type: ignore[arg-type]
        # A body that is not JSON at all is refused before any route's check, as FastAPI
        # refuses it before it runs a dependency: one order for every route.
        if check is not None and not any(e["type"] == "json_invalid" for e in found):
            try:
                await check(request)
            except Problem as refused:
                return await on_problem(request, refused)
            except DomainError as refused:
                return await on_refused(request, refused)
        unreadable = _unreadable_body(request, found)
        if unreadable is not None:
            errors = [{"field": "body", "message": unreadable}]
            detail = unreadable
        else:
            errors = [{"field": _field(e), "message": _quotable(_message(e))} for e in found[:20]]
            detail = f"Fix these fields and send it again: {', '.join(e['field'] for e in errors)}"
        return problem_response(
            422, "invalid-request", "The request is not valid", detail, errors=errors
        )

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind, title = _STATUS_KINDS.get(exc.status_code, ("http-error", "Request failed"))
        detail = str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":  # no route: Starlette's words
            detail = f"There is nothing at {_quotable(request.url.path)}: see /docs for the API."
        elif exc.status_code == 405 and detail == "Method Not Allowed":
            allowed = (exc.headers or {}).get("Allow", "")
            detail = f"{request.method} is not one of this path's methods ({allowed}): see /docs."
        return problem_response(exc.status_code, kind, title, detail, dict(exc.headers or {}))
