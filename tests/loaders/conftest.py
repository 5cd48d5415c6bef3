"""A synthetic dataset with heavy users (over 1,000 orders each) in databases of its own, served by its own app.

MySQL and MongoDB only: Neo4j Community has one database, shared with the MovieLens graph the other tests use,
so the synthetic graph is not written (user 1's graph answers come from MovieLens user 1; counting round trips
does not care).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from gateway.config import Settings
from gateway.jobs.datasets import synthetic
from gateway.jobs.migrate import upgrade_mysql
from gateway.jobs.seeding import Seeder
from gateway.stores import Sources
from gateway.stores.mongo.schema import ensure_collections
from tests.conftest import eventually, gql, make_test_settings
from tests.http.conftest import serve

SYNTHETIC_ORDERS = 5_000
HEAVY_USER = synthetic.HEAVY_USERS[0]


@pytest.fixture(scope="session")
def synthetic_settings(settings: Settings) -> Settings:
    return make_test_settings(
        mysql_url=settings.mysql_url.rsplit("/", 1)[0] + "/gateway_test_synthetic",
        mongo_database="gateway_test_synthetic",
        entity_cache=False,  # these tests count the stores' own round trips (tests/cache covers the cache)
    )


@pytest_asyncio.fixture(scope="session")
async def synthetic_seeded(synthetic_settings: Settings) -> Settings:
    await asyncio.to_thread(upgrade_mysql, synthetic_settings)
    sources = Sources.create(synthetic_settings)
    try:
        await ensure_collections(sources.mongodb.db)
        report = await Seeder(sources, progress=False).seed(synthetic.generate(orders=SYNTHETIC_ORDERS), graph=False)
        assert report.problems == [], report.problems
    finally:
        await sources.close()
    return synthetic_settings


@pytest_asyncio.fixture
async def synthetic_client(synthetic_seeded: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(synthetic_seeded) as client:
        # A freshly started Neo4j compiles the recommendation query and loads its pages on the first call, which
        # can take longer than the 2 s store timeout: warm it until it answers, so the tests measure round trips.
        async def warm() -> bool:
            body = await gql(client, WARM_UP, user=1)
            return "errors" not in body

        assert await eventually(warm, timeout=60, interval=1.0)
        yield client


WARM_UP = '{ user(id: "1") { recommendations(limit: 10) { score } } }'
