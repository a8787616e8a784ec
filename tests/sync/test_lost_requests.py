"""Which unanswered requests may have reached the server (`may_have_arrived`): one sent and
left without an answer may have been done there; one that never connected cannot have been.
The till withdraws an attempt it then declines only in the first case."""

from __future__ import annotations

import socket

import httpx
import pytest

from sync.client import ServerUnreachableError, SyncClient


def client_failing(error: httpx.TransportError) -> SyncClient:
    def fail(_: httpx.Request) -> httpx.Response:
        raise error

    return SyncClient("http://till.test", http=httpx.Client(transport=httpx.MockTransport(fail)))


@pytest.mark.parametrize(
    ("error", "may_have_arrived"),
    [
        (httpx.ConnectError("refused"), False),
        (httpx.ConnectTimeout("no route"), False),
        (httpx.PoolTimeout("busy"), False),
        (httpx.ReadTimeout("slow"), True),
        (httpx.WriteTimeout("slow"), True),
        (httpx.ReadError("reset"), True),
        (httpx.RemoteProtocolError("closed without an answer"), True),
    ],
)
def test_only_a_request_that_never_connected_surely_did_not_arrive(error, may_have_arrived):
    with client_failing(error) as client, pytest.raises(ServerUnreachableError) as lost:
        client.redeem_online("TP1:X", 100, "key")
    assert lost.value.may_have_arrived is may_have_arrived


def test_an_answer_that_cannot_be_decoded_may_have_arrived():
    """The server answered, but its body is not the gzip it says: done there, maybe."""

    def garbled(_: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Encoding": "gzip"}, content=b"not gzip")

    http = httpx.Client(transport=httpx.MockTransport(garbled))
    with (
        SyncClient("http://till.test", http=http) as client,
        pytest.raises(ServerUnreachableError) as lost,
    ):
        client.redeem_online("TP1:X", 100, "key")
    assert lost.value.may_have_arrived is True
    assert "could not be read" in str(lost.value)


def test_nothing_listening_is_surely_not_arrived():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed when the block ends: nothing listens there
    with (
        SyncClient(f"http://127.0.0.1:{port}") as client,
        pytest.raises(ServerUnreachableError) as lost,
    ):
        client.redeem_online("TP1:X", 100, "key")
    assert lost.value.may_have_arrived is False
