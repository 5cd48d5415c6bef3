"""How every Redis client of the gateway is made: from ``GATEWAY_REDIS_URL`` alone, so that what the URL says
reaches each of them (the pooled client, the caches, pub/sub): ``rediss://`` for TLS (with ``ssl_ca_certs``,
``ssl_cert_reqs``, … as query parameters), an ACL user and password (``redis://user:password@host``), the database.
``GATEWAY_REDIS_CLUSTER=true`` makes the URL name one node of a Redis Cluster (any: the others are discovered), and
every client a ``RedisCluster`` (database 0 only, as in any cluster)."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from gateway.config import Settings

Client = Redis | RedisCluster


def connect(settings: Settings, *, timeout: float, retries: int, name: str | None = None) -> Client:
    """A client for the configured Redis; ``retries``: how many times a command whose connection died is sent
    again at once (0: a lost connection is reported, as pub/sub wants)."""
    options: dict[str, Any] = {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "retry": Retry(NoBackoff(), retries=retries),
        "health_check_interval": 30 if retries else 0,
    }
    if retries:
        options["retry_on_error"] = [RedisConnectionError]
    if name is not None:
        options["client_name"] = name
    if settings.redis_cluster:
        return RedisCluster.from_url(settings.redis_url, **options)
    return Redis.from_url(settings.redis_url, **options)


def is_cluster(client: Client) -> bool:
    return isinstance(client, RedisCluster)
