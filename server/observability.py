"""Structured request logs, Prometheus metrics, and the last-resort error answer."""

from __future__ import annotations

import hmac
import json
import logging
import os
import time

from fastapi import FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .ids import counted_id
from .problems import Problem, problem_response

__all__ = ["install_observability", "log_json_lines", "metrics_registry", "serve_metrics"]

log = logging.getLogger("tillpoint.http")

REQUESTS = Counter(
    "tillpoint_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
LATENCY = Histogram(
    "tillpoint_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: easy to ship, grep and parse."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **getattr(record, "fields", {}),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def log_json_lines(name: str) -> None:
    """Log what the logger `name` and those below it say, from INFO up, on standard error,
    one JSON line each (`JsonFormatter`): the API its requests (`tillpoint.http`), a process
    of rounds all of Tillpoint's (`tillpoint`). Once however often it is called; not passed
    on to the root logger, so a host that logs too (uvicorn) does not say it twice."""
    logger = logging.getLogger(name)
    if any(isinstance(handler.formatter, JsonFormatter) for handler in logger.handlers):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def _route_of(scope: Scope, api_prefix: str) -> str:
    """The route template (/api/v1/gift-cards/{card_id}), not the raw path, so metric labels
    stay few. Routes of the included API router know their path below the API prefix."""
    template = getattr(scope.get("route"), "path", None)
    if template is None:
        return "unmatched"
    if scope["path"].startswith(api_prefix) and not template.startswith(api_prefix):
        template = api_prefix + template
    return str(template)


def metrics_registry() -> CollectorRegistry:
    """What /metrics shows: this process's metrics, or with several workers
    (PROMETHEUS_MULTIPROC_DIR) all of theirs added up."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return REGISTRY


def serve_metrics(host: str, port: int) -> None:
    """/metrics on a port of its own, without a token, from a thread of this process (the
    server's main process: with several workers, it adds up their files)."""
    start_http_server(port, host, registry=metrics_registry())


def _metrics_body() -> bytes:
    return generate_latest(metrics_registry())


class ObserveRequests:
    """Give every HTTP request an id (X-Request-ID, echoed or made), count and time it by
    route, log one JSON line for it, and answer an unhandled error with a problem that
    quotes the id. A plain ASGI middleware: Starlette's `BaseHTTPMiddleware` cost more per
    request than the whole of a small endpoint."""

    def __init__(self, app: ASGIApp, api_prefix: str) -> None:
        self.app, self.api_prefix = app, api_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = Headers(scope=scope).get("x-request-id") or counted_id()
        started = time.perf_counter()
        status, answered = 500, False

        async def send_with_id(message: Message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                status, answered = message["status"], True
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            if answered:  # too late for a problem document: the client sees a cut answer
                raise
            log.exception(
                "unhandled error",
                extra={"fields": {"request_id": request_id, "path": scope["path"]}},
            )
            response = problem_response(
                500,
                "internal-error",
                "Something went wrong on our side",
                f"The server could not finish this request (reference {request_id}). Try "
                "again; if it keeps failing, give the reference to support.",
            )
            await response(scope, receive, send_with_id)
        finally:
            self._record(scope, status, time.perf_counter() - started, request_id)

    def _record(self, scope: Scope, status: int, elapsed: float, request_id: str) -> None:
        route = _route_of(scope, self.api_prefix)
        REQUESTS.labels(scope["method"], route, str(status)).inc()
        LATENCY.labels(scope["method"], route).observe(elapsed)
        log.info(
            "request",
            extra={
                "fields": {
                    "request_id": request_id,
                    "method": scope["method"],
                    "route": route,
                    "path": scope["path"],
                    "status": status,
                    "ms": round(elapsed * 1000, 2),
                }
            },
        )


def _check_metrics_token(request: Request, token: str, elsewhere: bool) -> None:
    """Metrics name routes, volumes and errors: only the scraper holding the token reads them,
    or, with a metrics port (`elsewhere`), only who reaches that port."""
    if elsewhere:
        raise Problem(
            404,
            "metrics-off",
            "Metrics are not served here",
            "This server serves /metrics on its metrics port (TILLPOINT_METRICS_PORT) only.",
        )
    if not token:
        raise Problem(
            404,
            "metrics-off",
            "Metrics are off",
            "Set TILLPOINT_METRICS_TOKEN and scrape /metrics with 'Authorization: Bearer <token>'.",
        )
    sent = request.headers.get("authorization", "")
    if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        raise Problem(
            401,
            "unauthorized",
            "Not signed in",
            "Send 'Authorization: Bearer <TILLPOINT_METRICS_TOKEN>' to read the metrics.",
            headers={"WWW-Authenticate": "Bearer"},
        )


def install_observability(
    app: FastAPI, api_prefix: str, metrics_token: str, metrics_elsewhere: bool = False
) -> None:
    log_json_lines(log.name)
    app.add_middleware(ObserveRequests, api_prefix=api_prefix)

    @app.get(
        "/metrics",
        tags=["operations"],
        summary="Prometheus metrics (with the metrics token; 404 with a metrics port)",
        response_class=Response,
        responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}},
    )
    def metrics(request: Request) -> Response:
        _check_metrics_token(request, metrics_token, metrics_elsewhere)
        return Response(_metrics_body(), media_type=CONTENT_TYPE_LATEST)
