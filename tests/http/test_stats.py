"""GET /stats against the real servers: admin only; the caches' hit rates, the stores' round trips, breakers and
pools, the outbox and the request rate of a fresh app, with Redis read live; with Redis stopped only its part
fails."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gateway.config import Settings
from gateway.http.stats import WINDOW_S, Sampler
from gateway.jobs.seeding import SeedReport
from tests.cache.test_response_cache import PRODUCT, fresh, persisted
from tests.conftest import token_for
from tests.http.conftest import serve
from tests.services import services


def admin() -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(943, admin=True)}"}


async def stats(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/stats", headers=admin())
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    return body


async def test_only_an_admin_reads_stats(client: httpx.AsyncClient) -> None:
    assert (await client.get("/stats")).status_code == 401
    bad = await client.get("/stats", headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401
    user = await client.get("/stats", headers={"Authorization": f"Bearer {token_for(5)}"})
    assert user.status_code == 403
    assert user.json()["error"] == "FORBIDDEN"


async def test_stats_count_this_apps_requests_caches_and_stores(settings: Settings, seeded: SeedReport) -> None:
    async with serve(settings) as client:
        start = await stats(client)
        assert start["sinceStart"]["requests"] == 0
        document = fresh(PRODUCT)
        first = await persisted(client, document, {"id": "60"}, register=True)  # APQ stored, response stored
        second = await persisted(client, document, {"id": "60"})  # APQ and response from memory
        assert (first.headers["x-gateway-cache"], second.headers["x-gateway-cache"]) == ("stored", "hit-local")
        body = await stats(client)
    since = body["sinceStart"]
    assert since["requests"] == 2
    assert since["requestsPerS"] > 0
    caches = since["caches"]
    assert caches["response"] == {"hitRate": 0.5, "lookups": 2}
    assert caches["apq"] == {"hitRate": 1.0, "lookups": 1}  # only the hash alone is a lookup; found (in memory)
    assert caches["memory"] == {"hitRate": 0.6667, "lookups": 3}  # both hits of the second request, of 3 lookups
    assert caches["entity"]["lookups"] >= 1  # the product, on the first request
    # Under a minute since the start: the last minute is the same window.
    assert body["lastMinute"]["requests"] == since["requests"]
    stores = body["stores"]
    assert set(stores) == {"mysql", "mongodb", "neo4j", "redis"}
    assert all(store["breaker"] == "closed" for store in stores.values())
    assert stores["mysql"]["pool"]["size"] == settings.mysql_pool_size
    assert stores["mysql"]["pool"]["inUse"] == 0  # nothing in flight while /stats answers
    assert stores["mongodb"]["pool"]["size"] > 0
    assert since["stores"]["redis"]["roundTrips"] > 0
    assert since["stores"]["redis"]["errorRate"] == 0
    redis = body["redis"]
    assert redis["keys"]["response"] >= 1
    assert redis["keys"]["apq"] >= 1
    assert redis["usedMemoryBytes"] > 0
    assert redis["complete"] is True
    assert set(body["outbox"]) == {"pending", "lagSeconds", "parked"}
    assert body["memory"]["responses"]["entries"] >= 1


def test_the_last_minute_starts_at_the_newest_sample_a_minute_old() -> None:
    sampler = Sampler()
    at, counts = sampler.started
    sampler.samples.extend([(at + 10, {**counts, "requests": 5.0}), (at + 20, {**counts, "requests": 9.0})])
    assert sampler.minute_ago(at + 50) == sampler.started  # nothing a minute old yet: from the start
    assert sampler.minute_ago(at + 10 + WINDOW_S)[0] == at + 10
    assert sampler.minute_ago(at + 25 + WINDOW_S)[1]["requests"] == 9.0


@pytest.mark.services
async def test_with_redis_stopped_only_its_part_fails(settings: Settings, seeded: SeedReport) -> None:
    async with serve(settings) as client:
        services("stop", "redis")
        try:
            body = await stats(client)
        finally:
            services("start", "redis")
    assert body["redis"]["error"]["source"] == "redis"
    assert body["redis"]["error"]["code"] in {"SOURCE_UNAVAILABLE", "TIMEOUT"}
    assert isinstance(body["outbox"]["pending"], int)
    assert body["stores"]["mysql"]["pool"]["size"] == settings.mysql_pool_size
