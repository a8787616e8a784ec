"""Wake-ups: "this business's log moved", from the commit that moved it to every stream that
follows that business, in this worker and in every other.

A commit calls `publish` (through the event log's `when_logs_move` hook) from whatever
thread it ran in. `MemoryWakeups` hands the news straight to this process's `Listeners`
(one worker: the embedded default). `RedisWakeups` publishes it on a Redis channel (from a
thread of its own, several commits' news in one message when they come fast); every
worker on every host subscribes (`run`) and hands what it hears to its own listeners, its
own commits included. A wake-up carries no data: a stream that wakes reads the log from its
position, so a lost or repeated wake-up costs a late or an empty read, never a wrong one
(streams also look at the log now and then without being woken).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol, cast

if TYPE_CHECKING:
    from redis.asyncio import Redis as AsyncRedis

__all__ = [
    "Listener",
    "Listeners",
    "MemoryWakeups",
    "RedisWakeups",
    "Wakeups",
    "inbox_key",
    "open_wakeups",
]

log = logging.getLogger(__name__)


def inbox_key(user_id: str) -> str:
    """The wake-up key of a person's inbox, beside the businesses' ids (the log's keys)."""
    return f"inbox:{user_id}"


class Listener:
    """One stream's ear: `woken` is set when a business it follows moved. Clear it before
    reading the log, so a wake-up during the read is not lost."""

    def __init__(self, business_ids: frozenset[str]) -> None:
        self.business_ids = business_ids
        self.woken = asyncio.Event()

    async def wait(self, timeout: float) -> bool:
        """Until woken or `timeout` seconds; whether it was woken."""
        try:
            await asyncio.wait_for(self.woken.wait(), timeout)
        except TimeoutError:
            return False
        return True


class Listeners:
    """The streams of this worker, by business, on its event loop. `wake` may be called
    from any thread."""

    def __init__(self) -> None:
        self._by_business: dict[str, set[Listener]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """The loop the streams run on (the server's, once it has started)."""
        self._loop = loop

    def listen(self, business_ids: Iterable[str]) -> Listener:
        listener = Listener(frozenset(business_ids))
        with self._lock:
            for business_id in listener.business_ids:
                self._by_business.setdefault(business_id, set()).add(listener)
        return listener

    def forget(self, listener: Listener) -> None:
        with self._lock:
            for business_id in listener.business_ids:
                following = self._by_business.get(business_id)
                if following is not None:
                    following.discard(listener)
                    if not following:
                        del self._by_business[business_id]

    def followed(self) -> list[str]:
        """Every business some stream of this worker follows."""
        with self._lock:
            return list(self._by_business)

    def wake(self, business_ids: Iterable[str]) -> None:
        with self._lock:
            woken = {
                listener
                for business_id in business_ids
                for listener in self._by_business.get(business_id, ())
            }
        loop = self._loop
        if not woken or loop is None or loop.is_closed():
            return
        for listener in woken:
            loop.call_soon_threadsafe(listener.woken.set)


class Wakeups(Protocol):
    listeners: Listeners

    def publish(self, business_ids: frozenset[str]) -> None:
        """Tell every worker's streams that these businesses' logs moved (never raises:
        the commit is done, and streams look at the log now and then anyway)."""
        ...

    async def run(self) -> None:
        """Deliver other workers' wake-ups to this worker's listeners until cancelled."""
        ...

    def close(self) -> None: ...


class MemoryWakeups:
    """This process only: right for one worker."""

    def __init__(self) -> None:
        self.listeners = Listeners()

    def publish(self, business_ids: frozenset[str]) -> None:
        self.listeners.wake(business_ids)

    async def run(self) -> None:
        await asyncio.Event().wait()  # nothing comes from elsewhere

    def close(self) -> None:
        pass


class _Connection(Protocol):
    """What the publisher uses of redis-py's connection (its methods are not typed)."""

    def send_command(self, *args: object) -> None: ...
    def read_response(self) -> object: ...
    def disconnect(self) -> None: ...


# How long the publishing thread gathers news before it sends: a busy worker's commits then
# share a message (each PUBLISH costs a worker 0.1–0.3 ms of CPU, a redemption 4 ms in all),
# and a stream hears of a commit at most this much later.
GATHER_SECONDS = 0.01


class RedisWakeups:
    """Through a Redis channel shared by every worker and host with the same URL and prefix."""

    def __init__(self, url: str, prefix: str, gather_seconds: float = GATHER_SECONDS) -> None:
        from redis import Redis

        self.listeners = Listeners()
        self.gather_seconds = gather_seconds
        self._url = url
        self.channel = f"{prefix}log-moved"
        self._redis = Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        # Commits hand their businesses to one publishing thread, which sends what has
        # gathered as one message: a commit does not wait on Redis, and a busy worker's
        # commits share a message (the ids are what a wake-up says, repeated or not).
        self._gathered: set[str] = set()
        self._news = threading.Condition()
        self._closing = False
        self._publisher: threading.Thread | None = None

    def publish(self, business_ids: frozenset[str]) -> None:
        with self._news:
            if self._closing:
                return
            self._gathered |= business_ids
            if self._publisher is None:
                self._publisher = threading.Thread(
                    target=self._publish_gathered, name="wake-up publisher", daemon=True
                )
                self._publisher.start()
            self._news.notify()

    def _publish_gathered(self) -> None:
        from redis.exceptions import RedisError

        # A connection of the publisher's own, driven directly: the client's wrapping of a
        # command (its retries, argument checks and metrics) cost a worker more CPU than
        # the PUBLISH itself (0.6 ms of a gift-card sale's 13). It connects on its first
        # command, inside the retry below: a worker that starts while Redis is down still
        # publishes once Redis is up.
        connection = cast(_Connection, self._redis.connection_pool.make_connection())
        try:
            while True:
                with self._news:
                    self._news.wait_for(lambda: self._gathered or self._closing)
                    # What else comes meanwhile goes in the same message (a stop sends at once).
                    self._news.wait_for(lambda: self._closing, timeout=self.gather_seconds)
                    gathered, self._gathered = self._gathered, set()
                    closing = self._closing
                if gathered:
                    message = json.dumps(sorted(gathered))
                    for attempt in (1, 2):  # a connection Redis dropped is made again once
                        try:
                            connection.send_command("PUBLISH", self.channel, message)
                            connection.read_response()
                            break
                        except (RedisError, OSError) as exc:
                            connection.disconnect()
                            if attempt == 2:
                                log.warning(
                                    "could not publish a wake-up (%s): streams will see it later",
                                    exc,
                                )
                if closing:
                    return
        finally:
            connection.disconnect()

    async def run(self) -> None:
        from redis.asyncio import Redis
        from redis.exceptions import RedisError

        while True:
            client: AsyncRedis = Redis.from_url(self._url)
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel)
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            self.listeners.wake(_business_ids(message["data"]))
            except (RedisError, OSError) as exc:
                log.warning("lost the wake-up channel (%s): subscribing again", exc)
                # Streams missed what was said meanwhile: they read the log again now.
                self.listeners.wake(self.listeners.followed())
                await asyncio.sleep(1)
            finally:
                await client.aclose()

    def close(self) -> None:
        """Publish what has gathered, then stop."""
        with self._news:
            self._closing = True
            self._news.notify()
            publisher = self._publisher
        if publisher is not None:
            # Two tries, each up to the 2 s to connect and the 2 s to answer.
            publisher.join(timeout=10)
        self._redis.close()


def _business_ids(data: bytes | str) -> list[str]:
    try:
        ids = json.loads(data)
    except ValueError:
        return []
    return [i for i in ids if isinstance(i, str)] if isinstance(ids, list) else []


def open_wakeups(redis_url: str | None, prefix: str) -> Wakeups:
    """Through Redis when the settings name one (every worker and host), else in-process."""
    return RedisWakeups(redis_url, prefix) if redis_url else MemoryWakeups()
