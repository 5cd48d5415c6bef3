"""A least-recently-used map bounded in bytes, with an optional expiry per entry.

Each entry is put with its size in bytes (an estimate its owner makes: docs/hot-path.md says how each cache
measures its own) and, optionally, the ``time.monotonic()`` at which it expires. Putting an entry evicts the least
recently used ones until the sum of the sizes fits; an entry larger than ``max_entry_bytes`` is not kept at all.
A read of an expired entry drops it (nothing else sweeps: an expired entry costs its bytes until it is read or
evicted, and the bound holds either way).

Not thread-safe: one per event loop (a gateway process serves from one loop).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

NEVER = float("inf")


class ByteLRU(Generic[K, V]):
    __slots__ = ("_entries", "bytes", "capacity", "evicted", "max_entry_bytes", "on_drop")

    def __init__(
        self,
        capacity: int,
        *,
        max_entry_bytes: int | None = None,
        on_drop: Callable[[K, V], None] | None = None,
    ) -> None:
        self.capacity = capacity
        self.max_entry_bytes = capacity if max_entry_bytes is None else min(max_entry_bytes, capacity)
        self.on_drop = on_drop  # called for every entry that leaves (evicted, expired, popped, replaced, cleared)
        self.bytes = 0
        self.evicted = 0  # entries evicted to make room, since start
        self._entries: OrderedDict[K, tuple[V, int, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __iter__(self) -> Iterator[K]:
        """The keys, least recently used first (a copy: popping while iterating is fine)."""
        return iter(list(self._entries))

    def keys(self) -> Iterator[K]:
        return iter(self)

    def oldest(self) -> K:
        return next(iter(self._entries))

    def get(self, key: K, now: float = 0.0) -> V | None:
        """The value (now the most recently used), or None when absent or expired at ``now`` (then dropped)."""
        found = self._entries.get(key)
        if found is None:
            return None
        if found[2] <= now:
            self.pop(key)
            return None
        self._entries.move_to_end(key)
        return found[0]

    def expires(self, key: K) -> float | None:
        found = self._entries.get(key)
        return None if found is None else found[2]

    def put(self, key: K, value: V, size: int, expires: float = NEVER) -> bool:
        """Keep ``value`` (replacing what ``key`` held); False when it is too large to be kept."""
        if key in self._entries:
            self.pop(key)
        if size > self.max_entry_bytes:
            return False
        self._entries[key] = (value, size, expires)
        self.bytes += size
        while self.bytes > self.capacity:
            oldest = next(iter(self._entries))
            self.pop(oldest)
            self.evicted += 1
        return True

    def pop(self, key: K) -> V | None:
        found = self._entries.pop(key, None)
        if found is None:
            return None
        self.bytes -= found[1]
        if self.on_drop is not None:
            self.on_drop(key, found[0])
        return found[0]

    def clear(self) -> None:
        for key in list(self._entries):
            self.pop(key)
