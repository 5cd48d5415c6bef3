"""Automatic Persisted Queries in Redis: one string per document, shared by every gateway process.

    gw:apq:{sha256}    the document whose sha256 (hex, lowercase) is the key; expires ``ttl_s`` after its last use

The key is checked against the document before ``put`` is called (gateway/http/persisted.py), so a key never
holds anything but its own document, and writing it twice is harmless. Each function is one round trip.
"""

from __future__ import annotations

from gateway.stores.guard import guarded
from gateway.stores.redis.client import DRIVER_ERRORS, RedisSource

PREFIX = "gw:apq:"


def key(sha256: str) -> str:
    return f"{PREFIX}{sha256}"


async def get(source: RedisSource, *, sha256: str, ttl_s: int) -> str | None:
    """The document, its TTL reset to ``ttl_s`` in the same command (GETEX), or None when unknown."""
    found = await guarded(
        source,
        source.timeout,
        source.client.getex(key(sha256), ex=ttl_s),
        DRIVER_ERRORS,
        operation="apq_get",
        keys=[sha256],
    )
    if found is None:
        return None
    return found.decode() if isinstance(found, bytes) else str(found)


async def put(source: RedisSource, *, sha256: str, document: str, ttl_s: int) -> bool:
    """Store the document unless the key exists (SET NX EX); True when this call stored it."""
    stored = await guarded(
        source,
        source.timeout,
        source.client.set(key(sha256), document, nx=True, ex=ttl_s),
        DRIVER_ERRORS,
        operation="apq_put",
        keys=[sha256],
    )
    return bool(stored)


async def touch(source: RedisSource, *, sha256: str, ttl_s: int) -> bool:
    """Reset the document's TTL to ``ttl_s``; False when the key does not exist."""
    touched = await guarded(
        source,
        source.timeout,
        source.client.expire(key(sha256), ttl_s),
        DRIVER_ERRORS,
        operation="apq_touch",
        keys=[sha256],
    )
    return bool(touched)


async def stored(source: RedisSource, *, limit: int) -> list[str]:
    """Up to ``limit`` of the stored documents (SCAN, then one MGET): what a starting gateway prepares ahead."""

    async def read() -> list[str]:
        keys: list[bytes] = []
        async for name in source.client.scan_iter(match=f"{PREFIX}*", count=500):
            keys.append(name)
            if len(keys) >= limit:
                break
        if not keys:
            return []
        values = await (source.client.mget_nonatomic(keys) if source.cluster else source.client.mget(keys))  # type: ignore[union-attr]
        return [v.decode() if isinstance(v, bytes) else str(v) for v in values if v is not None]

    return await guarded(source, source.timeout * 5, read(), DRIVER_ERRORS, operation="apq_scan")
