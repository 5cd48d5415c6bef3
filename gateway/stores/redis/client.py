"""Redis: caches, persisted queries, carts and sessions. The only module that imports redis."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from aiocache import RedisCache
from aiocache.serializers import BaseSerializer
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from gateway.config import Settings
from gateway.stores import breaker
from gateway.stores.guard import ServerInfo, guarded
from gateway.stores.redis.pubsub import Channels

DRIVER_ERRORS: tuple[type[BaseException], ...] = (RedisError,)


class RawBytes(BaseSerializer):  # type: ignore[misc]
    """The cache stores bytes the gateway serialized itself (loaders/cache_codec.py)."""

    DEFAULT_ENCODING = None

    def dumps(self, value: bytes) -> bytes:
        return value

    def loads(self, value: bytes | None) -> bytes | None:
        return value


class RedisSource:
    name = "redis"

    def __init__(self, settings: Settings) -> None:
        self.timeout = settings.source_timeout_s
        self.breaker = breaker.for_store(self.name, breaker.endpoint_of(settings.redis_url))
        self.client: Redis = Redis.from_url(
            settings.redis_url,
            socket_timeout=settings.source_timeout_s,
            socket_connect_timeout=settings.source_timeout_s,
            health_check_interval=30,
            # A pooled connection that died with a server restart is replaced once, at once; a server that is
            # really down still fails fast (connect timeout), and the breaker decides what happens next.
            retry=Retry(NoBackoff(), retries=1),
            retry_on_error=[RedisConnectionError],
        )
        # The merged-entity and response caches (aiocache over redis-py), with a timeout of their own: a slow Redis
        # is bypassed after ``cache_timeout_s``, the answer comes from the stores.
        self.cache_timeout = settings.cache_timeout_s
        url = urlsplit(settings.redis_url)
        self.cache = RedisCache(
            serializer=RawBytes(),
            endpoint=url.hostname or "127.0.0.1",
            port=url.port or 6379,
            db=settings.redis_db,
            password=unquote(url.password) if url.password else None,
            timeout=None,
            create_connection_timeout=settings.source_timeout_s,
            connection_pool_kwargs={
                "socket_timeout": settings.source_timeout_s,
                "health_check_interval": 30,
                # As for self.client: a connection that died with a server restart is replaced once, at once
                # (without it, every pooled connection fails one call after a restart and opens the breaker).
                "retry": Retry(NoBackoff(), retries=1),
                "retry_on_error": [RedisConnectionError],
            },
        )

        # Pub/sub (subscriptions, and the invalidations the memory caches follow): one subscriber connection per
        # process, opened by the first listener, PINGed every heartbeat (gateway/memory/invalidations.py).
        self.channels = Channels(
            publisher=self.client,
            url=settings.redis_url,
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
        return ServerInfo(self.name, "Redis", str(info.get("redis_version", "unknown")))

    async def close(self) -> None:
        await self.sessions.close()  # the touches kept in memory are written first (bounded by the timeout)
        await self.channels.close()
        # aiocache's close() calls redis-py's deprecated close(); its client is closed the current way.
        await self.cache.client.aclose()
        await self.client.aclose()
