"""How an invalidation made in any process reaches every process's memory, and when memory may serve.

The protocol (docs/hot-path.md):

1. Every invalidation is one Redis script (gateway/stores/redis/cache.py): it increments the epoch, PUBLISHes
   "<epoch> <kind>:<id> …" on the deployment's channel, and drops the entities and the responses tagged with them
   from Redis. The process that made it also drops them from its own memory before the mutation returns.
2. Each process follows the channel on its pub/sub connection (gateway/stores/redis/pubsub.py) and drops the
   entries tagged with what each message names, in the connection's reader, in order.
3. The reader PINGs every ``heartbeat_s`` (a quarter of the bound). Redis answers in order, so the answer to a
   PING sent at ``s`` comes after every message published before ``s``: once it is handled, every invalidation
   made before ``s`` has been applied here. Memory serves at ``now`` only if such an answer came for a PING sent
   at most ``bound_s`` before ``now`` (``fresh``).

So the staleness bound: no process serves from memory a response that an invalidation dropped once
``bound_s`` have passed since the invalidation's script ran in Redis (the mutation returns after that), whatever
the load. Within the bound, another process may still serve it: pub/sub delivery plus the reader's turn, usually
a millisecond.

A lost connection (closed, or its PING unanswered) closes the gate at once (no heartbeat, no ``fresh``): the
memory is bypassed and the lookups go to Redis. The watcher subscribes again every ``retry_s``; resynchronising
then waits for a heartbeat (the SUBSCRIBE is in effect), reads the epoch, waits for another heartbeat (every
message published before that read has been applied) and compares: if every epoch between the last one applied
here and the one read was heard, memory is kept; otherwise (invalidations published while nobody listened here,
an epoch that went back: Redis restarted) memory is flushed. Then the gate opens again. An epoch heard out of
sequence while following (one was skipped) flushes memory too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from gateway.errors import SourceError, SourceUnavailable
from gateway.memory.responses import LocalResponses
from gateway.stores import Sources
from gateway.stores.redis import cache as redis_cache
from gateway.stores.redis.pubsub import Heartbeat, Listener

log = logging.getLogger("gateway.memory")

RETRY_S = 1.0


class Invalidations:
    def __init__(
        self, memory: LocalResponses, keys: redis_cache.EntityKeys, *, bound_s: float, retry_s: float = RETRY_S
    ) -> None:
        self.memory = memory
        self.keys = keys
        self.bound_s = bound_s
        self.retry_s = retry_s
        self.synced = False  # following the channel, resynchronised: the gate may open
        self.confirmed = float("-inf")  # when the newest PING answered was sent (time.monotonic())
        self.applied: int | None = None  # the newest epoch applied here (None: never synchronised)
        self.flushes = 0  # times memory was flushed for a possibly missed invalidation
        self._heard: set[int] = set()  # epochs heard while resynchronising
        self._beat = asyncio.Event()
        self.settled = asyncio.Event()  # set once the first attempt to follow the channel succeeded or failed
        memory.fresh = self.fresh

    def fresh(self, now: float) -> bool:
        """Every invalidation published before ``now - bound_s`` has been applied here."""
        return self.synced and now - self.confirmed <= self.bound_s

    def on_item(self, item: bytes | Heartbeat | SourceError) -> None:
        """Called by the pub/sub reader, in order, for each message, heartbeat and the error that ends it."""
        if isinstance(item, Heartbeat):
            self.confirmed = max(self.confirmed, item.sent)
            self._beat.set()
        elif isinstance(item, SourceError):
            self.synced = False
            self._beat.set()
        else:
            self._apply(item)

    def _apply(self, message: bytes) -> None:
        head, _, rest = message.partition(b" ")
        try:
            epoch = int(head)
            tags = rest.decode().split()
        except ValueError:
            log.warning("invalidation channel: unreadable message %r: memory flushed", message[:80])
            self._flush()
            return
        self.memory.drop(tags)
        if not self.synced:
            self._heard.add(epoch)
            return
        assert self.applied is not None
        if epoch > self.applied + 1:
            log.warning("invalidation channel: epochs %d to %d not heard: memory flushed", self.applied + 1, epoch - 1)
            self._flush()
        self.applied = max(self.applied, epoch)

    def _flush(self) -> None:
        self.memory.flush()
        self.flushes += 1

    async def run(self, sources: Sources) -> None:
        """Follow the channel until cancelled: subscribe, resynchronise, apply; after a loss, again."""
        channels = sources.redis.channels
        down = False
        while True:
            try:
                async with channels.listen(self.keys.channel, watch=self.on_item) as listener:
                    await self._resync(sources, listener)
                    self.settled.set()
                    if down:
                        log.warning("invalidation channel followed again: memory serves (%d flushes)", self.flushes)
                        down = False
                    await listener.ended.wait()
                log.warning("invalidation channel lost: memory bypassed until it is followed again")
                down = True
            except SourceError as exc:
                self.settled.set()
                if not down:
                    log.warning("invalidation channel lost, memory bypassed until it is back: %s", exc.detail)
                down = True
            self.synced = False
            await asyncio.sleep(self.retry_s)

    async def _resync(self, sources: Sources, listener: Listener) -> None:
        self.synced = False
        self._heard.clear()
        await self._heartbeat_after(time.monotonic(), listener)  # the SUBSCRIBE is in effect
        raw = await redis_cache.read_epoch(sources.redis, self.keys)
        current = int(raw) if raw else 0
        await self._heartbeat_after(time.monotonic(), listener)  # what was published before the read is applied
        heard = set(self._heard)
        newest = max([current, *heard])
        if self.applied is not None and not self._complete(self.applied, current, heard):
            log.warning("invalidations may have been missed (epoch %d, then %d): memory flushed", self.applied, current)
            self._flush()
        elif self.applied is None:
            self.memory.flush()  # a first start: nothing was held (nothing missed either)
        self.applied = newest
        self.synced = True

    @staticmethod
    def _complete(applied: int, current: int, heard: set[int]) -> bool:
        """Every epoch after ``applied`` up to ``current`` was heard (an epoch that went back is not)."""
        if current < applied:
            return False
        if current - applied > len(heard):
            return False
        return all(epoch in heard for epoch in range(applied + 1, current + 1))

    async def _heartbeat_after(self, sent: float, listener: Listener) -> None:
        """Until a heartbeat of a PING sent at ``sent`` or later has come; SourceUnavailable if the connection
        is lost first."""
        while self.confirmed < sent:
            if listener.ended.is_set():
                raise SourceUnavailable("redis", "pub/sub connection lost while resynchronising")
            self._beat.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._beat.wait(), timeout=self.bound_s * 4 + 1)
