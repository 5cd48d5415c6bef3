"""Whole responses of persisted queries held in this process's memory, in front of the response cache in Redis
(gateway/http/response_cache.py), bounded in bytes.

An entry is a copy of what Redis holds: put only after Redis stored it (or answered it), with the same tags and at
most the life Redis gives it. It is served only while ``fresh(now)`` says this process has heard every invalidation
published more than the staleness bound ago (gateway/memory/invalidations.py); otherwise the lookup goes to Redis,
which is always up to date. Invalidations drop entries by tag ("product:5"): those published on the channel, and
those this process makes (``invalidated``, called by loaders/cached.invalidate before a mutation returns).

``generation`` moves with every drop and flush: a response read from Redis (or computed) while it moved may
predate an invalidation this process has already applied, so it is not put (``put(..., seen=...)``).

Bytes: an entry counts its body, its key, its tags and a fixed overhead per entry and per tag (what tracemalloc
measured for them, docs/hot-path.md); the sum never passes ``capacity``.
"""

from __future__ import annotations

import hashlib
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from gateway.memory.lru import ByteLRU

Key = tuple[bytes, int]  # (the request's identity: document hash, operation name, variables; viewer id, 0: public)

# Measured with tracemalloc (bench/memory.py): per entry, beyond the bytes of its body and key, the objects' headers,
# the Entry with its ETag, the key tuple and the LRU's slot (about 500 bytes); per tag, beyond its length, its
# string's header, its slot in the entry and its membership in the index (about 160 bytes when other entries share
# the tag, 300 when the tag is the entry's alone and needs a set of its own).
ENTRY_OVERHEAD = 512
TAG_OVERHEAD = 320


@dataclass(slots=True)
class Entry:
    body: bytes
    etag: str  # of the body: quoted by the HTTP layer with the media type
    expires: float  # time.monotonic(): when Redis's copy expires
    tags: tuple[str, ...]
    private: bool  # served to one viewer only
    cost: int = 0  # the query's cost (schema/extensions/limits.py): what a rate limit charges for this answer


def _never(now: float) -> bool:
    return False


class LocalResponses:
    def __init__(self, capacity: int, channel: str) -> None:
        self.channel = channel  # the deployment's invalidation channel: which invalidations concern this cache
        self.lru: ByteLRU[Key, Entry] = ByteLRU(capacity, max_entry_bytes=max(capacity // 8, 1), on_drop=self._unindex)
        self.by_tag: dict[str, set[Key]] = {}
        self.generation = 0
        self.fresh: Callable[[float], bool] = _never  # set by the Invalidations that follow the channel
        _register(self)

    def get(self, key: Key, now: float) -> Entry | None:
        """The entry, when it has not expired and every invalidation older than the bound has been applied."""
        if not self.fresh(now):
            return None
        return self.lru.get(key, now)

    def usable(self, now: float) -> bool:
        return self.fresh(now)

    def put(
        self,
        key: Key,
        body: bytes,
        tags: Iterable[str],
        *,
        ttl_s: float,
        private: bool,
        seen: int,
        now: float,
        cost: int = 0,
    ) -> Entry | None:
        """Keep a response Redis holds for ``ttl_s`` more seconds; not when an invalidation was applied since the
        caller read ``generation`` (``seen``), nor while the channel is not followed."""
        if seen != self.generation or ttl_s <= 0 or not self.fresh(now):
            return None
        # Exact-size copies: orjson's output keeps its growth buffer (a 300-byte body held 4 KiB, a 3 KiB one 32 KiB).
        key, body = (bytes(memoryview(key[0])), key[1]), bytes(memoryview(body))
        tags = tuple(tags)
        entry = Entry(body, hashlib.blake2b(body, digest_size=12).hexdigest(), now + ttl_s, tags, private, cost)
        size = len(body) + len(key[0]) + ENTRY_OVERHEAD + sum(TAG_OVERHEAD + len(tag) for tag in tags)
        if not self.lru.put(key, entry, size, entry.expires):
            return None
        for tag in tags:
            self.by_tag.setdefault(tag, set()).add(key)
        return entry

    def drop(self, tags: Iterable[str]) -> int:
        """Drop every entry holding any of these entities; how many went."""
        self.generation += 1
        dropped = 0
        for tag in tags:
            for key in self.by_tag.pop(tag, ()):
                dropped += self.lru.pop(key) is not None
        return dropped

    def flush(self) -> None:
        """Drop everything (an invalidation may have been missed)."""
        self.generation += 1
        self.lru.clear()
        self.by_tag.clear()

    def _unindex(self, key: Key, entry: Entry) -> None:
        for tag in entry.tags:
            keys = self.by_tag.get(tag)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self.by_tag[tag]


# Every LocalResponses of this process, by channel: what an invalidation made here drops at once.
_caches: dict[str, weakref.WeakSet[LocalResponses]] = {}


def _register(cache: LocalResponses) -> None:
    _caches.setdefault(cache.channel, weakref.WeakSet()).add(cache)


def invalidated(channel: str, tags: Iterable[str]) -> None:
    """This process invalidated these entities (kind:id): drop them from every cache of the deployment now."""
    tags = list(tags)
    for cache in list(_caches.get(channel, ())):
        cache.drop(tags)
