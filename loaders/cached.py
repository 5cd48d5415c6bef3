"""Reading entities through the merged-entity cache: one MGET for a batch, the misses fetched once (batched, the
stores in parallel), written back with one conditional multi-set (gateway/stores/redis/cache.py).

An entity is fetched as its parts (a product: MySQL row, MongoDB document, MongoDB metrics), each a record, None,
or the exception that kept it. Only an entity with every part is cached; a part that failed is answered as that
failure (its field errors) and the entity is fetched again next time. Concurrent misses for one key in this
process fetch it once: later readers wait for the first. Redis down or slower than ``cache_timeout_s``: the
cache is bypassed (counted in the trace), the answer comes from the stores and nothing is written back.

With MySQL replicas, an invalidation marks its entities for the sticky window (``GATEWAY_MYSQL_REPLICA_STICKY_S``),
and a query's miss on a marked entity fetches it from the primary: a lagging replica cannot refill the cache with
the value the invalidation dropped (as long as it lags less than that window).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import fields
from typing import Any

from gateway import trace
from gateway.config import Settings
from gateway.errors import SourceError
from gateway.memory import responses as memory
from gateway.stores import Sources
from gateway.stores.mysql.client import reading_replicas, replica_reads
from gateway.stores.redis import cache as redis_cache
from loaders import cache_codec

log = logging.getLogger("gateway.cache")

Parts = dict[str, Any]  # part name → record, None, or the BaseException that kept it
Fetch = Callable[[list[Any]], Awaitable[list[Parts]]]

# Misses being fetched in this process, per event loop: (data key) → the future of its parts.
_flights: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Future[Parts]]] = (
    weakref.WeakKeyDictionary()
)


def _in_flight() -> dict[str, asyncio.Future[Parts]]:
    return _flights.setdefault(asyncio.get_running_loop(), {})


LANDED_S = 1.0


def _land(flights: dict[str, asyncio.Future[Parts]], name: str, future: asyncio.Future[Parts]) -> None:
    if flights.get(name) is future:
        del flights[name]


def keys_for(settings: Settings) -> redis_cache.EntityKeys:
    """Keys of this deployment's data: the namespace and the MySQL database (the demo, the tests and the benches
    share one Redis, and product 5 of one is not product 5 of another), then the shapes' version. Pub/sub channels
    are not per Redis database: the invalidation channel names the database too."""
    namespace = f"{settings.cache_namespace}:{settings.mysql_database}"
    # The channel carries the response family's hash tag (gateway/stores/redis/cache.py), and the Redis database.
    channel = f"{{{namespace}}}:{settings.redis_db}:invalidations"
    # With MySQL replicas, invalidations mark their entities for the sticky window (read from the primary on a miss).
    recent_ms = round(settings.mysql_replica_sticky_s * 1000) if settings.mysql_replica_urls else 0
    return redis_cache.EntityKeys(namespace, cache_codec.VERSION, channel, recent_ms)


def _unknown(parts: Parts) -> bool:
    """No store knows this id (a product or user without a row, a user the graph does not know)."""
    return ("row" in parts and parts["row"] is None) or ("items" in parts and parts["items"] is None)


def ttl_of(settings: Settings, kind: str, parts: Parts) -> float:
    if _unknown(parts):
        return settings.cache_unknown_ttl_s
    return {
        "product": settings.cache_product_ttl_s,
        "user": settings.cache_user_ttl_s,
        "recommendations": settings.cache_recommendations_ttl_s,
        "popular": settings.cache_popular_ttl_s,
    }[kind]


class CacheThrough:
    def __init__(self, sources: Sources, settings: Settings) -> None:
        self.sources = sources
        self.settings = settings
        self.keys = keys_for(settings)

    async def load(self, kind: str, ids: Sequence[Any], fetch: Fetch) -> list[Parts]:
        ids = list(ids)
        if not self.settings.entity_cache:
            return await fetch(ids)
        redis = self.sources.redis
        try:
            looked = await redis_cache.lookup(redis, self.keys, kind, ids)
        except SourceError as exc:
            log.warning("cache bypassed for %d %s: %s", len(ids), kind, exc.detail)
            _count(kind, bypassed=len(ids))
            return await fetch(ids)
        answers: dict[int, Parts] = {}
        missing: list[int] = []
        for index, found in enumerate(looked):
            entity = _decoded(kind, found.value)
            if entity is None:
                missing.append(index)
            else:
                answers[index] = {f.name: getattr(entity, f.name) for f in fields(entity)}
        _count(kind, hits=len(answers), misses=len(missing))
        if missing:
            if reading_replicas() and any(looked[i].recent for i in missing):
                fetch = _on_primary(fetch)  # invalidated within the sticky window: a replica may still hold the old
            fetched = await self._single_flight(kind, [ids[i] for i in missing], [looked[i] for i in missing], fetch)
            answers.update(zip(missing, fetched, strict=True))
        return [answers[index] for index in range(len(ids))]

    async def _single_flight(
        self, kind: str, ids: list[Any], looked: list[redis_cache.Looked], fetch: Fetch
    ) -> list[Parts]:
        flights = _in_flight()
        names = [self.keys.data(kind, key) for key in ids]
        theirs = {i: flights[name] for i, name in enumerate(names) if name in flights}
        mine = [i for i in range(len(ids)) if i not in theirs]
        loop = asyncio.get_running_loop()
        futures = {i: loop.create_future() for i in mine}
        for i, future in futures.items():
            flights[names[i]] = future
        results: dict[int, Parts] = {}
        try:
            try:
                if mine:
                    results.update(zip(mine, await fetch([ids[i] for i in mine]), strict=True))
            except BaseException as exc:
                for future in futures.values():
                    future.set_exception(exc)
                    future.exception()  # retrieved here: a waiter may never come
                raise
            for i, future in futures.items():
                future.set_result(results[i])
            if mine:
                await self._write_back(kind, [(ids[i], looked[i], results[i]) for i in mine])
        finally:
            # A whole answer stays in flight LANDED_S after its write-back: a reader whose Redis lookup missed just
            # before the write-back landed (its reply may be handled after ours) takes it instead of fetching again.
            # An invalidation drops it at once, like the cache entry. Failures and partial answers leave now.
            for i in mine:
                whole = i in results and not any(isinstance(p, BaseException) for p in results[i].values())
                if whole:
                    loop.call_later(LANDED_S, _land, flights, names[i], futures[i])
                else:
                    _land(flights, names[i], futures[i])
        for i, future in theirs.items():
            results[i] = await asyncio.shield(future)
        return [results[i] for i in range(len(ids))]

    async def _write_back(self, kind: str, entries: list[tuple[Any, redis_cache.Looked, Parts]]) -> None:
        entity_type = cache_codec.ENTITIES[kind]
        fills = []
        for key, found, parts in entries:
            if _unknown(parts):  # no row: whatever else failed does not matter, nothing is there
                parts = dict.fromkeys(parts)
            elif any(isinstance(part, BaseException) for part in parts.values()):
                continue
            value = cache_codec.encode(entity_type(**parts))
            fills.append(redis_cache.Fill(kind, key, value, ttl_of(self.settings, kind, parts), found.generation))
        try:
            await redis_cache.fill(self.sources.redis, self.keys, fills)
        except SourceError as exc:  # the answer stands; the next reader fetches again
            log.warning("cache write-back of %d %s skipped: %s", len(fills), kind, exc.detail)


def _on_primary(fetch: Fetch) -> Fetch:
    async def fetched(ids: list[Any]) -> list[Parts]:
        with replica_reads(False):
            return await fetch(ids)

    return fetched


def _decoded(kind: str, value: bytes | None) -> Any:
    if value is None:
        return None
    try:
        return cache_codec.decode(kind, value)
    except (ValueError, TypeError, KeyError) as exc:  # unreadable: a miss, refetched and overwritten
        log.warning("unreadable cached %s entry dropped: %r", kind, exc)
        return None


def _count(kind: str, *, hits: int = 0, misses: int = 0, bypassed: int = 0) -> None:
    if (current := trace.current.get()) is not None:
        current.count_cache(kind, hits=hits, misses=misses, bypassed=bypassed)


async def invalidate(sources: Sources, settings: Settings, entities: Sequence[tuple[str, Any]]) -> bool:
    """Drop these (kind, id) entries, and the responses holding them, before a mutation returns: in Redis (which
    publishes the invalidation to every process's memory, gateway/memory/invalidations.py) and in this process's
    memory at once. False (logged) when Redis could not be reached: this process's memory is cleared all the same;
    what other processes and Redis hold then lives at most its TTL."""
    if not (settings.entity_cache or settings.response_cache) or not entities:
        return True
    keys = keys_for(settings)
    flights = _in_flight()
    for kind, key in entities:  # a fetch started before the change must not answer readers that come after it
        flights.pop(keys.data(kind, key), None)
    try:
        await redis_cache.invalidate(sources.redis, keys, entities)
    except SourceError as exc:
        log.error("cache invalidation of %s failed: %s", list(entities), exc.detail)
        return False
    finally:
        memory.invalidated(keys.channel, [redis_cache.tag_name(kind, key) for kind, key in entities])
    return True
