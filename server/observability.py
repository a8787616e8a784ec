"""Structured request logs, Prometheus metrics, and the last-resort error answer."""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

from .problems import problem_response

__all__ = ["install_observability"]

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


def _configure_logging() -> None:
    if any(isinstance(h.formatter, JsonFormatter) for h in log.handlers):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def _route_of(request: Request, api_prefix: str) -> str:
    """The route template (/api/v1/gift-cards/{card_id}), not the raw path, so metric labels
    stay few. Routes of the included API router know their path below the API prefix."""
    route = request.scope.get("route")
    template = getattr(route, "path", None)
    if template is None:
        return "unmatched"
    if request.url.path.startswith(api_prefix) and not template.startswith(api_prefix):
        template = api_prefix + template
    return str(template)


def _metrics_body() -> bytes:
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:  # several workers: add up their files
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest()


def install_observability(app: FastAPI, api_prefix: str) -> None:
    _configure_logging()

    @app.middleware("http")
    async def observe(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        request_id = request.headers.get("X-Request-ID") or uuid.uuid4().hex
        request.state.request_id = request_id
        started = time.perf_counter()
        try:
            response = await call_next(request)
        except Exception:
            log.exception(
                "unhandled error",
                extra={"fields": {"request_id": request_id, "path": request.url.path}},
            )
            response = problem_response(
                500,
                "internal-error",
                "Something went wrong on our side",
                f"The server could not finish this request (reference {request_id}). Try "
                "again; if it keeps failing, give the reference to support.",
            )
        elapsed = time.perf_counter() - started
        route = _route_of(request, api_prefix)
        REQUESTS.labels(request.method, route, str(response.status_code)).inc()
        LATENCY.labels(request.method, route).observe(elapsed)
        response.headers["X-Request-ID"] = request_id
        log.info(
            "request",
            extra={
                "fields": {
                    "request_id": request_id,
                    "method": request.method,
                    "route": route,
                    "path": request.url.path,
                    "status": response.status_code,
                    "ms": round(elapsed * 1000, 2),
                }
            },
        )
        return response

    @app.get(
        "/metrics",
        tags=["operations"],
        summary="Prometheus metrics",
        response_class=Response,
        responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}},
    )
    def metrics() -> Response:
        return Response(_metrics_body(), media_type=CONTENT_TYPE_LATEST)
