"""Read-your-writes with MySQL replicas: a marker per writer that sends its reads to the primary for a while.

    {namespace}:{mysql database}:primary:{who}    set (PX) by a mutation of ``who`` ("user:<id>" or
                                                  "session:<guest session>"): while it exists, that viewer's
                                                  queries read the MySQL primary

Each function is one round trip. gateway/replicas.py decides when they are called.
"""

from __future__ import annotations

from gateway.stores.guard import guarded
from gateway.stores.redis.client import DRIVER_ERRORS, RedisSource


def key(namespace: str, who: str) -> str:
    return f"{namespace}:primary:{who}"


async def mark(source: RedisSource, namespace: str, who: str, ttl_ms: int) -> None:
    """``who`` reads the primary for the next ``ttl_ms``."""
    await guarded(
        source,
        source.timeout,
        source.client.set(key(namespace, who), b"1", px=max(1, ttl_ms)),
        DRIVER_ERRORS,
        operation="primary_mark",
        keys=[who],
    )


async def marked(source: RedisSource, namespace: str, who: str) -> bool:
    """Whether ``who`` wrote within its window (bounded by the caches' budget: a slow Redis raises, and the caller
    reads the primary)."""
    found = await guarded(
        source,
        source.cache_timeout,
        source.client.exists(key(namespace, who)),
        DRIVER_ERRORS,
        operation="primary_marked",
        keys=[who],
        budget=True,
    )
    return bool(found)
