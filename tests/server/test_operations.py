"""What operators rely on: metrics, request ids, structured logs, and a clean last resort."""

import json
import logging

from fastapi.testclient import TestClient

from server.app import create_app
from server.observability import JsonFormatter


def test_metrics_count_requests_by_route_template(settings, engine):
    app = create_app(settings.model_copy(update={"metrics_token": "scrape"}), engine=engine)
    with TestClient(app) as client:
        client.get("/api/v1/businesses/nope")
        body = client.get("/metrics", headers={"Authorization": "Bearer scrape"}).text
    assert 'route="/api/v1/businesses/{business_id}"' in body
    assert "tillpoint_http_requests_total" in body
    assert "tillpoint_http_request_duration_seconds_bucket" in body


def test_request_ids_are_echoed_or_made(client):
    assert (
        client.get("/healthz", headers={"X-Request-ID": "abc123"}).headers["X-Request-ID"]
        == "abc123"
    )
    made = [client.get("/healthz").headers["X-Request-ID"] for _ in range(3)]
    assert len(set(made)) == 3, "each request gets an id of its own"
    assert all(len(made_id) == 32 for made_id in made)


def test_an_unexpected_error_is_a_problem_with_a_reference(settings, engine):
    app = create_app(settings, engine=engine)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom", headers={"X-Request-ID": "ref-42"})
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/internal-error")
    assert "ref-42" in response.json()["detail"]
    assert "a bug" not in response.text  # internals stay in the log


def test_log_lines_are_json_with_fields():
    record = logging.LogRecord("tillpoint.http", logging.INFO, __file__, 1, "request", None, None)
    record.fields = {"status": 200, "route": "/healthz"}
    line = json.loads(JsonFormatter().format(record))
    assert (line["message"], line["status"], line["route"]) == ("request", 200, "/healthz")
