"""Wake-ups through Redis: a commit's news leaves from a publishing thread, so the commit
never waits on Redis; news that comes fast may share a message, and none is lost, not even
what is still gathering when the worker stops."""

import json
import socket
import threading
import time
import uuid
from urllib.parse import urlsplit

from redis import Redis

from server.realtime.wakeups import RedisWakeups


def subscribed(listener: Redis, channel: str):
    """A subscription to `channel`, confirmed by Redis (so nothing said after is missed)."""
    pubsub = listener.pubsub()
    pubsub.subscribe(channel)
    assert pubsub.get_message(timeout=5)["type"] == "subscribe"
    return pubsub


def heard_until(pubsub, wanted: set[str], seconds: float = 10) -> set[str]:
    heard: set[str] = set()
    deadline = time.monotonic() + seconds
    while not wanted <= heard and time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.1)
        if message and message["type"] == "message":
            heard |= set(json.loads(message["data"]))
    return heard


def test_every_business_told_is_heard_and_a_stop_sends_what_gathered(redis_settings):
    listener = Redis.from_url(redis_settings["redis_url"])
    wakeups = RedisWakeups(redis_settings["redis_url"], redis_settings["redis_prefix"])
    try:
        pubsub = subscribed(listener, wakeups.channel)
        told = {f"biz{n:08}" for n in range(50)}
        for business in sorted(told):
            wakeups.publish(frozenset({business}))
        assert heard_until(pubsub, told) == told
        wakeups.publish(frozenset({"last-one"}))
        wakeups.close()  # before the publisher may have sent it
        assert heard_until(pubsub, {"last-one"}) == {"last-one"}
        wakeups.publish(frozenset({"after-the-stop"}))  # ignored, and does not raise
        pubsub.close()
    finally:
        listener.close()


def test_news_that_comes_while_the_first_is_gathering_shares_its_message(redis_settings):
    listener = Redis.from_url(redis_settings["redis_url"])
    wakeups = RedisWakeups(
        redis_settings["redis_url"], redis_settings["redis_prefix"], gather_seconds=1.0
    )
    try:
        pubsub = subscribed(listener, wakeups.channel)
        told = {f"biz{n:08}" for n in range(20)}
        for business in sorted(told):  # 20 commits, 10 ms apart: within the gathering second
            wakeups.publish(frozenset({business}))
            time.sleep(0.01)
        messages: list[set[str]] = []
        deadline = time.monotonic() + 10
        while set().union(*messages) != told and time.monotonic() < deadline:
            message = pubsub.get_message(timeout=0.1)
            if message and message["type"] == "message":
                messages.append(set(json.loads(message["data"])))
        assert set().union(*messages) == told
        assert len(messages) <= 2, [len(m) for m in messages]
        pubsub.close()
    finally:
        wakeups.close()
        listener.close()


def test_news_is_heard_after_redis_dropped_the_publisher_s_connection(redis_settings):
    name = f"tp-wakeups-{uuid.uuid4().hex[:8]}"
    listener = Redis.from_url(redis_settings["redis_url"])
    wakeups = RedisWakeups(
        f"{redis_settings['redis_url']}?client_name={name}", redis_settings["redis_prefix"]
    )
    try:
        pubsub = subscribed(listener, wakeups.channel)
        wakeups.publish(frozenset({"before"}))
        assert heard_until(pubsub, {"before"}) == {"before"}
        (publisher,) = [c for c in listener.client_list() if c["name"] == name]
        listener.client_kill_filter(_id=publisher["id"])  # as a Redis restart would
        wakeups.publish(frozenset({"after"}))
        assert heard_until(pubsub, {"after"}) == {"after"}
        pubsub.close()
    finally:
        wakeups.close()
        listener.close()


class Forwarder:
    """A TCP port that forwards to Redis once opened: Redis as a worker sees it come up."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        with socket.socket() as probe:  # a port nothing listens on until `open`
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._server: socket.socket | None = None

    def open(self) -> None:
        self._server = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        assert self._server is not None
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pipe, args=(source, sink), daemon=True).start()

    def close(self) -> None:
        if self._server is not None:
            self._server.close()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        sink.close()


def test_news_is_heard_once_redis_comes_up_after_a_worker_that_started_without_it(
    redis_settings,
):
    real = urlsplit(redis_settings["redis_url"])
    forwarder = Forwarder(real.hostname or "127.0.0.1", real.port or 6379)
    listener = Redis.from_url(redis_settings["redis_url"])
    wakeups = RedisWakeups(
        f"redis://127.0.0.1:{forwarder.port}{real.path}", redis_settings["redis_prefix"]
    )
    try:
        pubsub = subscribed(listener, wakeups.channel)
        wakeups.publish(frozenset({"while-down"}))  # Redis cannot be reached: logged, not fatal
        time.sleep(0.5)
        forwarder.open()
        wakeups.publish(frozenset({"after"}))
        assert "after" in heard_until(pubsub, {"after"})
        pubsub.close()
    finally:
        wakeups.close()
        forwarder.close()
        listener.close()
