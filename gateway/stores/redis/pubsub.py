"""Redis pub/sub: one subscriber connection per process, shared by every listener of that process.

``Channels.listen(channel)`` registers a listener; the first listener of a channel SUBSCRIBEs it, the last one to
leave UNSUBSCRIBEs it. One reader task reads the connection and hands each message to the channel's listeners.
Publishing goes through the ordinary client (its pool), like any other command.

Delivery is what Redis pub/sub gives: at most once, to whoever is subscribed at that moment. A lost connection
is not papered over: redis-py would reconnect and resubscribe silently, and the messages published in between
would be gone without anyone knowing. So the connection has no retries; when it fails (or stops answering the
reader's PING), every listener of the process ends with ``SourceUnavailable`` (its client re-reads what it watches
and listens again), and the next listener opens a new connection. (redis-py 8 still reconnects and resubscribes
once before it raises, even with no retries; ``_lost`` closes that connection, and Redis frees it on its next turn.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from gateway.errors import SourceError, SourceUnavailable
from gateway.stores.guard import Guardable, guarded

log = logging.getLogger(__name__)

DRIVER_ERRORS: tuple[type[BaseException], ...] = (RedisError,)
NAME = "redis"
# The reader PINGs a connection that has been quiet this long, and gives it up when the next period passes
# with nothing at all read from it (a server gone without a FIN never wakes a blocked read).
PING_EVERY_S = 15.0


class Listener:
    """What one ``listen`` yields: iterate it for the channel's messages (bytes); it raises ``SourceUnavailable``
    when the process's pub/sub connection is lost."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self._queue: asyncio.Queue[bytes | SourceError] = asyncio.Queue()

    def deliver(self, item: bytes | SourceError) -> None:
        # Unbounded: what the gateway publishes per channel is an order's few status changes.
        self._queue.put_nowait(item)

    def __aiter__(self) -> Listener:
        return self

    async def __anext__(self) -> bytes:
        item = await self._queue.get()
        if isinstance(item, SourceError):
            raise item
        return item


@dataclass(eq=False)
class _Connection:
    """One live pub/sub connection, its reader, and the listeners registered on it."""

    pubsub: PubSub
    listeners: dict[str, set[Listener]] = field(default_factory=dict)
    reader: asyncio.Task[None] | None = None


class Channels:
    def __init__(self, *, publisher: Redis, url: str, timeout: float, guard: Guardable | str = NAME) -> None:
        self._publisher = publisher  # the source's pooled client: PUBLISH is an ordinary command
        self._guard = guard  # the Redis source: its server's breaker admits and counts pub/sub calls too
        self._url = url
        self.timeout = timeout
        self._client: Redis | None = None
        self._live: _Connection | None = None
        self._lock = asyncio.Lock()

    def _redis(self) -> Redis:
        if self._client is None:  # created on first use: nothing connects before a listener comes
            self._client = Redis.from_url(
                self._url,
                socket_timeout=self.timeout,
                socket_connect_timeout=self.timeout,
                retry=Retry(NoBackoff(), retries=0),  # see the module docstring: a lost connection is reported
                client_name=f"gateway-pubsub-{os.getpid()}",
            )
        return self._client

    async def publish(self, channel: str, message: bytes) -> int:
        """PUBLISH; how many subscriber connections (gateway processes, mostly) received it."""
        received: int = await guarded(
            self._guard,
            self.timeout,
            self._publisher.publish(channel, message),
            DRIVER_ERRORS,
            operation="publish",
            keys=[channel],
        )
        return received

    @contextlib.asynccontextmanager
    async def listen(self, channel: str) -> AsyncIterator[Listener]:
        """A listener of ``channel`` for the block; raises ``SourceError`` when Redis cannot be subscribed."""
        listener = Listener(channel)
        async with self._lock:
            live = await self._connection()
            first = channel not in live.listeners
            live.listeners.setdefault(channel, set()).add(listener)
            if first:
                try:
                    await guarded(self._guard, self.timeout, live.pubsub.subscribe(channel), DRIVER_ERRORS)
                except SourceError as exc:
                    await self._lost(live, exc)
                    raise
                self._start(live)
        try:
            yield listener
        finally:
            await self._leave(live, listener)

    async def _connection(self) -> _Connection:
        if self._live is None:
            # Subscribe confirmations are read (and skipped) by the reader: get_message returns None for nothing else
            # than a quiet period, which is what the PING logic counts on.
            live = _Connection(self._redis().pubsub())
            self._live = live
        return self._live

    async def _leave(self, live: _Connection, listener: Listener) -> None:
        async with self._lock:
            listeners = live.listeners.get(listener.channel)
            if listeners is None or listener not in listeners:
                return  # that connection was lost: nothing of it to undo
            listeners.discard(listener)
            if listeners:
                return
            del live.listeners[listener.channel]
            try:
                await guarded(self._guard, self.timeout, live.pubsub.unsubscribe(listener.channel), DRIVER_ERRORS)
            except SourceError as exc:
                await self._lost(live, exc)

    def _start(self, live: _Connection) -> None:
        """Start the reader once the connection has subscribed something (it reads only a connected pubsub)."""
        if live.reader is None:
            live.reader = asyncio.create_task(self._read(live), name="redis-pubsub-reader")

    async def _read(self, live: _Connection) -> None:
        pinged = False
        try:
            while True:
                message = await live.pubsub.get_message(timeout=PING_EVERY_S)
                if message is None:
                    if pinged:
                        raise TimeoutError(f"no answer to PING within {PING_EVERY_S:g}s")
                    await live.pubsub.ping()
                    pinged = True
                    continue
                pinged = False
                if message["type"] != "message":
                    continue
                channel = message["channel"]
                name = channel.decode() if isinstance(channel, bytes) else str(channel)
                for listener in list(live.listeners.get(name, ())):
                    listener.deliver(message["data"])
        except asyncio.CancelledError:
            raise
        except (RedisError, OSError, TimeoutError) as exc:
            error = SourceUnavailable(NAME, f"pub/sub connection lost: {type(exc).__name__}: {exc}")
            log.warning("redis pub/sub: %s; ending %d listener(s)", error.detail, _count(live))
            async with self._lock:
                await self._lost(live, error, reading=True)

    async def _lost(self, live: _Connection, error: SourceError, *, reading: bool = False) -> None:
        """Under the lock: end every listener of ``live`` with ``error`` and drop the connection."""
        for listeners in live.listeners.values():
            for listener in listeners:
                listener.deliver(error)
        live.listeners.clear()
        if self._live is live:
            self._live = None
        if live.reader is not None and not reading:
            live.reader.cancel()
        with contextlib.suppress(Exception):
            await live.pubsub.aclose()  # type: ignore[no-untyped-call]

    async def close(self) -> None:
        """End every listener (SourceUnavailable) and close the connection; the next ``listen`` opens a new one."""
        reader = None
        async with self._lock:
            if self._live is not None:
                reader = self._live.reader
                await self._lost(self._live, SourceUnavailable(NAME, "the gateway is shutting down"))
        if reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def _count(live: _Connection) -> int:
    return sum(len(listeners) for listeners in live.listeners.values())
