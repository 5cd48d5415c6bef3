"""Redis: caches, persisted queries, carts and sessions. The only module that imports redis."""

from __future__ import annotations

from typing import Any

from redis.exceptions import RedisError

from gateway.config import Settings
from gateway.stores import breaker
from gateway.stores.guard import PoolUse, ServerInfo, guarded
from gateway.stores.redis.connect import Client, connect, is_cluster
from gateway.stores.redis.pubsub import Channels

DRIVER_ERRORS: tuple[type[BaseException], ...] = (RedisError,)


class RedisSource:
    name = "redis"

    def __init__(self, settings: Settings) -> None:
        self.timeout = settings.source_timeout_s
        self.breaker = breaker.for_store(self.name, breaker.endpoint_of(settings.redis_url))
        # One client (and its pool) for every command: a pooled connection that died with a server restart is
        # replaced once, at once; a server that is really down still fails fast (connect timeout), and the breaker
        # decides what happens next.
        self.client: Client = connect(settings, timeout=settings.source_timeout_s, retries=1)
        self.cluster = is_cluster(self.client)
        # The merged-entity and response caches use the same client with a bound of their own: a slow Redis is
        # bypassed after ``cache_timeout_s``, the answer comes from the stores.
        self.cache_timeout = settings.cache_timeout_s

        # Pub/sub (subscriptions, and the invalidations the memory caches follow): one subscriber connection per
        # process, opened by the first listener, PINGed every heartbeat (gateway/memory/invalidations.py).
        self.channels = Channels(
            publisher=self.client,
            settings=settings,
            timeout=settings.source_timeout_s,
            guard=self,
            heartbeat_s=settings.heartbeat_s,
        )

        from gateway.stores.redis.sessions import SessionTracker  # it writes through this client

        self.sessions = SessionTracker(self, settings)

    async def ping(self) -> None:
        await guarded(self, self.timeout, self.client.ping(), DRIVER_ERRORS)

    async def server_info(self) -> ServerInfo:
        info = await guarded(self, self.timeout, self.client.info("server"), DRIVER_ERRORS)
        if "redis_version" not in info and info:  # a cluster may answer per node: {node: {...}}
            first = next(iter(info.values()))
            info = first if isinstance(first, dict) else info
        return ServerInfo(self.name, "Redis", str(info.get("redis_version", "unknown")))

    def pool(self) -> PoolUse:
        """A single Redis's pool; a cluster keeps one per node, so no single figure."""
        pool: Any = getattr(self.client, "connection_pool", None)
        if pool is None:
            return PoolUse(None)
        created, in_use = getattr(pool, "_created_connections", None), getattr(pool, "_in_use_connections", None)
        opened = None if created is None else int(created)
        return PoolUse(int(pool.max_connections), opened, None if in_use is None else len(in_use))

    async def close(self) -> None:
        await self.sessions.close()  # the touches kept in memory are written first (bounded by the timeout)
        await self.channels.close()
        await self.client.aclose()
