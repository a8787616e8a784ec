"""Errors as RFC 9457 problem+json with a stable ``type``, and their handlers.

Services raise `server.errors.DomainError`s; one handler here answers them. `Problem` is for
what only the HTTP layer knows (routers and their dependencies: sign-in, rate limits)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from .errors import PROBLEM_BASE, DomainError

__all__ = ["PROBLEM_BASE", "Problem", "install_problem_handlers", "problem_response"]

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


_STATUS_KINDS = {
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    401: ("unauthorized", "Not signed in"),
    403: ("forbidden", "Not allowed"),
}


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
    async def on_invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(_quotable(str(p)) for p in e["loc"]), "message": _quotable(e["msg"])}
            for e in exc.errors()[:20]
        ]
        fields = ", ".join(e["field"] for e in errors)
        return problem_response(
            422,
            "invalid-request",
            "The request is not valid",
            f"Fix these fields and send it again: {fields}",
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def on_http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind, title = _STATUS_KINDS.get(exc.status_code, ("http-error", "Request failed"))
        return problem_response(
            exc.status_code, kind, title, str(exc.detail), dict(exc.headers or {})
        )
