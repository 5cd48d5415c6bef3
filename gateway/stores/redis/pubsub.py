"""Redis pub/sub: one subscriber connection per process, shared by every listener of that process.

``Channels.listen(channel)`` registers a listener; the first listener of a channel SUBSCRIBEs it, the last one to
leave UNSUBSCRIBEs it. One reader task reads the connection and hands each message to the channel's listeners.
Publishing goes through the ordinary client (its pool), like any other command.

Delivery is what Redis pub/sub gives: at most once, to whoever is subscribed at that moment. A lost connection
is not papered over: redis-py would reconnect and resubscribe silently, and the messages published in between
would be gone without anyone knowing. So the connection has no retries; when it fails (or leaves a PING
unanswered for ``LOST_AFTER_S``), every listener of the process ends with ``SourceUnavailable`` (its client
re-reads what it watches and listens again), and the next listener opens a new connection. (redis-py 8 still
reconnects and resubscribes once before it raises, even with no retries; ``_lost`` closes that connection, and
Redis frees it on its next turn.)

Heartbeats: the reader sends a PING every ``heartbeat_s`` and hands each answer to the listeners that watch
(``listen(channel, watch=callback)``) as a ``Heartbeat`` carrying the time the PING was sent. Redis answers a
connection's commands in order, and a message published before it read the PING is written to the connection
before the PONG: so when a heartbeat sent at ``s`` arrives, every message published before ``s`` has been
delivered. A watcher's callback is called by the reader itself, in order (messages, heartbeats, then the error that
ends it), so what it does with a message is done before it sees the next heartbeat (gateway/memory/invalidations.py
builds its staleness bound on that).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from gateway.config import Settings
from gateway.errors import SourceError, SourceUnavailable
from gateway.stores.guard import Guardable, guarded
from gateway.stores.redis.connect import Client, connect, is_cluster

log = logging.getLogger(__name__)

DRIVER_ERRORS: tuple[type[BaseException], ...] = (RedisError,)
NAME = "redis"
# The reader PINGs the connection every heartbeat (at most this long apart), and gives the connection up when a
# PING stays unanswered this long (a server gone without a FIN never wakes a blocked read).
PING_EVERY_S = 15.0
LOST_AFTER_S = 15.0


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """Every message published before ``sent`` (``time.monotonic()``) has been delivered to this connection."""

    sent: float


Watch = Callable[[bytes | Heartbeat | SourceError], None]


class Listener:
    """What one ``listen`` yields: iterate it for the channel's messages (bytes); it raises ``SourceUnavailable``
    when the process's pub/sub connection is lost. A watching listener (``watch``) has everything handed to its
    callback instead, heartbeats included; ``ended`` is set once the connection is lost."""

    def __init__(self, channel: str, watch: Watch | None = None) -> None:
        self.channel = channel
        self.watch = watch
        self.ended = asyncio.Event()
        self._queue: asyncio.Queue[bytes | SourceError] = asyncio.Queue()

    def deliver(self, item: bytes | SourceError) -> None:
        if isinstance(item, SourceError):
            self.ended.set()
        if self.watch is not None:
            self.watch(item)
            return
        # Unbounded: what the gateway publishes per channel is an order's few status changes.
        self._queue.put_nowait(item)

    def beat(self, heartbeat: Heartbeat) -> None:
        if self.watch is not None:
            self.watch(heartbeat)

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
    def __init__(
        self,
        *,
        publisher: Client,
        settings: Settings,
        timeout: float,
        guard: Guardable | str = NAME,
        heartbeat_s: float = PING_EVERY_S,
        name: str | None = None,
    ) -> None:
        self._publisher = publisher  # the source's pooled client: PUBLISH is an ordinary command
        self._guard = guard  # the Redis source: its server's breaker admits and counts pub/sub calls too
        self._settings = settings
        self.timeout = timeout
        self.heartbeat_s = min(heartbeat_s, PING_EVERY_S)
        self.name = name or f"gateway-pubsub-{os.getpid()}"  # CLIENT LIST shows it
        self._client: Client | None = None
        self._live: _Connection | None = None
        self._lock = asyncio.Lock()

    def _redis(self) -> Client:
        if self._client is None:  # created on first use: nothing connects before a listener comes
            # No retries: see the module docstring, a lost connection is reported.
            self._client = connect(self._settings, timeout=self.timeout, retries=0, name=self.name)
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
    async def listen(self, channel: str, *, watch: Watch | None = None) -> AsyncIterator[Listener]:
        """A listener of ``channel`` for the block; raises ``SourceError`` when Redis cannot be subscribed.
        ``watch``: a callback the reader calls with each message, heartbeat and the final error (see the module
        docstring); it must not block."""
        listener = Listener(channel, watch)
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
            # In a cluster, the connection goes to the node that serves the first channel's slot: the invalidation
            # channel shares its hash tag with the keys of the script that publishes on it (redis/cache.py), so
            # that node delivers a message before it answers a later PING, as a single server does.
            client = self._redis()
            if is_cluster(client):  # the slots map, which picks the node
                await guarded(self._guard, self.timeout, client.initialize(), DRIVER_ERRORS)
            live = _Connection(client.pubsub())
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
        pings: deque[float] = deque()  # when each PING not yet answered was sent
        sent = -PING_EVERY_S
        try:
            while True:
                now = time.monotonic()
                if pings and now - pings[0] > LOST_AFTER_S:
                    raise TimeoutError(f"no answer to PING within {LOST_AFTER_S:g}s")
                if now - sent >= self.heartbeat_s:
                    sent = now
                    pings.append(sent)
                    await live.pubsub.ping()
                wait = max(sent + self.heartbeat_s - time.monotonic(), 0.001)
                message = await live.pubsub.get_message(timeout=wait)
                if message is None:
                    continue
                if message["type"] == "pong":
                    if pings:
                        beat = Heartbeat(pings.popleft())
                        for listeners in list(live.listeners.values()):
                            for listener in list(listeners):
                                listener.beat(beat)
                    continue
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
