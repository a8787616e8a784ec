"""Which answers are the server's decision. A 4xx with the server's problem document is
(ServerRefusedError); a gateway's 502/503/504, a page that is not JSON and the server's own
5xx are not: whether it did what was asked is unknown (AnswerLostError, a ServerUnreachable-
Error, so the till decides offline under the same key and `tillpoint sync` exits 3)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from sync.client import (
    AnswerLostError,
    ServerAnswerError,
    ServerRefusedError,
    ServerUnreachableError,
    SyncClient,
)

PROBLEM = "application/problem+json"


def client_answering(status: int, body: str, content_type: str, **headers: str) -> SyncClient:
    def answer(_: httpx.Request) -> httpx.Response:
        return httpx.Response(status, text=body, headers={"Content-Type": content_type, **headers})

    return SyncClient("http://till.test", http=httpx.Client(transport=httpx.MockTransport(answer)))


@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [
        (502, "<h1>502 Bad Gateway</h1>", "text/html"),
        (503, "<h1>503 Service Unavailable</h1>", "text/html"),
        (504, "", "text/plain"),
        (502, '{"message": "Bad Gateway"}', "application/json"),  # a gateway's own JSON
        (404, "<html>not here</html>", "text/html"),  # not the server: it answers problems
        (500, '{"type": "/problems/internal-error", "detail": "ref 1"}', PROBLEM),
        (503, '{"type": "/problems/schema-behind", "detail": "migrate"}', PROBLEM),
    ],
)
def test_what_is_not_the_servers_decision_is_a_lost_answer(status, body, content_type):
    with (
        client_answering(status, body, content_type) as client,
        pytest.raises(AnswerLostError) as lost,
    ):
        client.redeem_online("TP1:X", 100, "key")
    assert isinstance(lost.value, ServerUnreachableError)
    assert lost.value.status == status
    assert "<" not in str(lost.value)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422, 429])
def test_a_problem_document_in_a_4xx_is_the_servers_decision(status):
    body = '{"type": "/problems/redeemed-offline", "detail": "redeemed offline"}'
    with (
        client_answering(status, body, PROBLEM) as client,
        pytest.raises(ServerRefusedError) as refused,
    ):
        client.redeem_online("TP1:X", 100, "key")
    assert (refused.value.status, refused.value.kind) == (status, "redeemed-offline")


def test_a_gateways_502_is_said_in_words():
    with (
        client_answering(502, "<h1>502 Bad Gateway</h1>", "text/html") as client,
        pytest.raises(AnswerLostError) as lost,
    ):
        client.pull(0)
    assert str(lost.value) == (
        "the server at http://till.test could not be reached "
        "(the gateway in front of it answered 502 Bad Gateway)"
    )


def test_a_page_instead_of_the_servers_json_is_a_lost_answer():
    page = "<html>Sign in to the hotel Wi-Fi</html>"
    with client_answering(200, page, "text/html") as client, pytest.raises(AnswerLostError):
        client.pull(0)


def test_json_of_another_shape_is_the_servers_of_another_version():
    json = '{"hello": 1}'
    with (
        client_answering(200, json, "application/json") as client,
        pytest.raises(ServerAnswerError),
    ):
        client.pull(0)


def test_the_servers_clock_is_read_from_its_date_header():
    ahead = datetime.now(UTC) + timedelta(hours=3)
    with client_answering(404, "{}", PROBLEM, Date=format_datetime(ahead, usegmt=True)) as client:
        assert client.clock_offset is None
        with pytest.raises(ServerRefusedError):
            client.pull(0)
        assert client.clock_offset is not None
        assert abs(client.clock_offset - 3 * 3600) < 5


@pytest.fixture
def plain_http() -> Iterator[str]:
    """A server that speaks plain HTTP only: its https:// address."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_https_to_a_plain_http_server_says_tls_failed(plain_http):
    with SyncClient(plain_http) as client, pytest.raises(ServerUnreachableError) as failed:
        client.trust_list()
    said = str(failed.value)
    assert "secure connection (TLS) failed" in said
    assert f"http://{plain_http.removeprefix('https://')}" in said
    assert "nothing answered" not in said


@pytest.mark.parametrize(
    "given",
    [
        "http://till.test",
        "http://till.test/",
        "http://till.test/api/v1",
        " http://till.test/api/v1/ ",
    ],
)
def test_the_servers_address_may_be_given_with_the_apis_prefix(given):
    asked: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        return httpx.Response(200, json={"keys": []})

    http = httpx.Client(transport=httpx.MockTransport(answer))
    with SyncClient(given, http=http) as client:
        client.trust_list()
    assert asked == ["http://till.test/api/v1/trust-list"]
