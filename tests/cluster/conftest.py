"""The local Redis Cluster (three masters, ``scripts/services start redis-cluster``; scripts/test starts it):
settings and a Redis source pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from gateway.cli.services import redis_cluster_port
from gateway.config import Settings
from gateway.errors import SourceError
from gateway.stores.redis.client import RedisSource
from tests.conftest import make_test_settings


def cluster_settings(**overrides: object) -> Settings:
    port = redis_cluster_port(Settings())
    return make_test_settings(redis_url=f"redis://127.0.0.1:{port}/0", redis_cluster=True, **overrides)


@pytest.fixture(scope="session")
def cluster() -> Settings:
    return cluster_settings()


@pytest_asyncio.fixture
async def cluster_redis(cluster: Settings) -> AsyncIterator[RedisSource]:
    source = RedisSource(cluster)
    try:
        await source.ping()
    except SourceError as exc:
        await source.close()
        pytest.fail(f"no Redis Cluster at {cluster.redis_url}: scripts/services start redis-cluster ({exc.detail})")
    assert source.cluster
    yield source
    await source.close()
