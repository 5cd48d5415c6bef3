"""The merged-entity cache against the real Redis: hits and misses in explain, TTLs read with PTTL, one fetch for
concurrent misses, a stale write-back refused, no stale read after a mutation, derived data fresh once the relay
has drained."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from gateway.config import Settings
from gateway.stores import Sources
from gateway.stores.redis import cache as redis_cache
from loaders import cache_codec
from loaders.cached import invalidate, keys_for
from tests.conftest import ADMIN_ID, eventually, gql
from tests.http.test_ready_when_a_store_stops import services
from tests.services import paused
from tests.writes.conftest import PRODUCT_ID, relay

PRODUCT = "query ($id: ID!) { product(id: $id) { id title attributes rating { count } } }"
POPULAR = "{ popularProducts(limit: 20) { id title attributes } }"


def cache_of(body: dict[str, Any], kind: str) -> dict[str, int]:
    return body["extensions"]["explain"]["cache"].get(kind, {"hits": 0, "misses": 0, "bypassed": 0})


def store_calls(body: dict[str, Any], source: str) -> int:
    entry = body["extensions"]["explain"]["sources"].get(source)
    return 0 if entry is None else int(entry["roundTrips"])


async def pttl(sources: Sources, settings: Settings, kind: str, key: int) -> int:
    return int(await sources.redis.client.pttl(keys_for(settings).data(kind, key)))


async def test_a_miss_then_a_hit_that_asks_no_store(
    client: httpx.AsyncClient, sources: Sources, settings: Settings, seeded: object
) -> None:
    await invalidate(sources, settings, [("product", 50)])
    first = await gql(client, PRODUCT, {"id": "50"}, explain=True)
    assert cache_of(first, "product") == {"hits": 0, "misses": 1, "bypassed": 0}
    assert store_calls(first, "mysql") == 1
    assert store_calls(first, "mongodb") == 2
    second = await gql(client, PRODUCT, {"id": "50"}, explain=True)
    assert second["data"] == first["data"]
    assert cache_of(second, "product") == {"hits": 1, "misses": 0, "bypassed": 0}
    assert store_calls(second, "mysql") == 0
    assert store_calls(second, "mongodb") == 0
    assert store_calls(second, "redis") == 1  # the one MGET
    ttl = await pttl(sources, settings, "product", 50)
    assert 0 < ttl <= settings.cache_product_ttl_s * 1000


async def test_a_batch_reads_with_one_mget_and_fetches_only_the_misses(
    client: httpx.AsyncClient, sources: Sources, settings: Settings, seeded: object
) -> None:
    warm = await gql(client, POPULAR, explain=True)
    ids = [int(p["id"]) for p in warm["data"]["popularProducts"]]
    assert len(ids) == 20
    await invalidate(sources, settings, [("product", key) for key in ids[:7]])
    body = await gql(client, POPULAR, explain=True)
    assert body["data"] == warm["data"]
    assert cache_of(body, "product") == {"hits": 13, "misses": 7, "bypassed": 0}
    calls = body["extensions"]["explain"]["sources"]
    mgets = [c for c in calls["redis"]["calls"] if c["operation"] == "mget product"]
    assert [c["keyCount"] for c in mgets] == [20]
    assert [c["keyCount"] for c in calls["mysql"]["calls"]] == [7]  # the rows of the misses, one statement
    assert sorted(c["keyCount"] for c in calls["mongodb"]["calls"]) == [7, 7]  # documents, metrics


async def test_popular_products_are_one_cached_list_that_asks_neo4j_nothing(
    client: httpx.AsyncClient, sources: Sources, settings: Settings, seeded: object
) -> None:
    await invalidate(sources, settings, [("popular", 0)])
    first = await gql(client, "{ popularProducts(limit: 5) { id } }", explain=True)
    assert cache_of(first, "popular") == {"hits": 0, "misses": 1, "bypassed": 0}
    assert store_calls(first, "neo4j") == 1
    ttl = await pttl(sources, settings, "popular", 0)
    assert 0 < ttl <= settings.cache_popular_ttl_s * 1000
    longer = await gql(client, "{ popularProducts(limit: 8) { id } }", explain=True)  # any limit: one list
    assert cache_of(longer, "popular") == {"hits": 1, "misses": 0, "bypassed": 0}
    assert store_calls(longer, "neo4j") == 0
    ids = [p["id"] for p in longer["data"]["popularProducts"]]
    assert ids[:5] == [p["id"] for p in first["data"]["popularProducts"]]
    assert len(ids) == 8


async def test_an_unknown_id_is_cached_briefly(
    client: httpx.AsyncClient, sources: Sources, settings: Settings, seeded: object
) -> None:
    await invalidate(sources, settings, [("product", 899_999)])
    body = await gql(client, PRODUCT, {"id": "899999"}, explain=True)
    assert body["data"]["product"] is None
    assert 0 < await pttl(sources, settings, "product", 899_999) <= settings.cache_unknown_ttl_s * 1000
    again = await gql(client, PRODUCT, {"id": "899999"}, explain=True)
    assert cache_of(again, "product")["hits"] == 1
    assert store_calls(again, "mysql") == 0


async def test_concurrent_misses_for_one_key_fetch_it_once(
    client: httpx.AsyncClient, sources: Sources, settings: Settings, seeded: object
) -> None:
    await invalidate(sources, settings, [("product", 51)])
    bodies = await asyncio.gather(*(gql(client, PRODUCT, {"id": "51"}, explain=True) for _ in range(12)))
    assert len({str(b["data"]) for b in bodies}) == 1
    fetched = [
        c
        for b in bodies
        for c in b["extensions"]["explain"]["sources"].get("mysql", {"calls": []})["calls"]
        if c["operation"] == "products_by_id"
    ]
    assert len(fetched) == 1, fetched


async def test_a_write_back_after_an_invalidation_is_refused(sources: Sources, settings: Settings) -> None:
    """A reader that fetched before a mutation committed cannot put the old value back after it."""
    keys = keys_for(settings)
    await invalidate(sources, settings, [("product", 898_001)])
    (seen,) = await redis_cache.lookup(sources.redis, keys, "product", [898_001])
    assert seen.value is None
    await invalidate(sources, settings, [("product", 898_001)])  # the mutation, between fetch and write-back
    stale = cache_codec.encode(cache_codec.ProductEntity(None, None, None))
    fill = redis_cache.Fill("product", 898_001, stale, 60.0, seen.generation)
    assert await redis_cache.fill(sources.redis, keys, [fill]) == 0
    (now,) = await redis_cache.lookup(sources.redis, keys, "product", [898_001])
    assert now.value is None
    fresh = redis_cache.Fill("product", 898_001, stale, 60.0, now.generation)
    assert await redis_cache.fill(sources.redis, keys, [fresh]) == 1
    await invalidate(sources, settings, [("product", 898_001)])


UPDATE = "mutation ($id: ID!, $t: String!) { updateProduct(id: $id, input: {title: $t}) { id title } }"
ATTRIBUTES = "mutation ($id: ID!, $a: JSON!) { updateProductAttributes(id: $id, attributes: $a) { id attributes } }"
DELETE = "mutation ($id: ID!) { deleteProduct(id: $id) }"
RATE = "mutation ($id: ID!) { rateProduct(productId: $id, rating: 4) { id } }"


async def test_no_stale_read_after_product_mutations(
    client: httpx.AsyncClient, sources: Sources, settings: Settings, stocked: list[int]
) -> None:
    pid = str(PRODUCT_ID)
    before = await gql(client, PRODUCT, {"id": pid})
    assert (await gql(client, PRODUCT, {"id": pid}, explain=True))["extensions"]["explain"]["cache"]["product"][
        "hits"
    ] == 1  # cached now
    await gql(client, UPDATE, {"id": pid, "t": "Renamed"}, admin=True)
    assert (await gql(client, PRODUCT, {"id": pid}))["data"]["product"]["title"] == "Renamed"
    await gql(client, ATTRIBUTES, {"id": pid, "a": {"release_year": 1999}}, admin=True)
    after = await gql(client, PRODUCT, {"id": pid})
    assert after["data"]["product"]["attributes"] == {"release_year": 1999}
    assert before["data"]["product"]["attributes"] == {"release_year": 2024}
    # Derived data (metrics): fresh once the relay has drained, and not before it is due to be.
    await gql(client, RATE, {"id": pid}, user=ADMIN_ID)
    await relay(sources, settings).drain()
    rated = await gql(client, PRODUCT, {"id": pid})
    count = (before["data"]["product"]["rating"] or {"count": 0})["count"]
    assert rated["data"]["product"]["rating"]["count"] == count + 1
    deleted = await gql(client, DELETE, {"id": pid}, admin=True)
    assert deleted["data"] == {"deleteProduct": pid}
    gone = await gql(client, PRODUCT, {"id": pid})
    assert gone["data"]["product"] is None


RECOMMENDATIONS = "{ viewer { recommendations(limit: 5) { score product { id } } } }"


async def test_the_relay_drops_a_users_recommendations_when_they_buy_or_rate(
    client: httpx.AsyncClient, sources: Sources, settings: Settings, stocked: list[int]
) -> None:
    user_id = 7
    first = await gql(client, RECOMMENDATIONS, user=user_id)
    assert len(first["data"]["viewer"]["recommendations"]) == 5
    assert await pttl(sources, settings, "recommendations", user_id) > 0
    again = await gql(client, "{ viewer { recommendations(limit: 3) { score } } }", user=user_id, explain=True)
    assert cache_of(again, "recommendations") == {"hits": 1, "misses": 0, "bypassed": 0}  # one list serves any limit
    assert [r["score"] for r in again["data"]["viewer"]["recommendations"]] == [
        r["score"] for r in first["data"]["viewer"]["recommendations"][:3]
    ]
    await gql(client, RATE, {"id": str(PRODUCT_ID)}, user=user_id)
    assert await pttl(sources, settings, "recommendations", user_id) > 0  # derived: until the relay applies it
    await relay(sources, settings).drain()
    assert await pttl(sources, settings, "recommendations", user_id) == -2  # gone


@pytest.mark.services
async def test_redis_stopped_bypasses_the_cache_then_caches_again(
    client: httpx.AsyncClient, sources: Sources, settings: Settings, seeded: object
) -> None:
    expected = await gql(client, PRODUCT, {"id": "52"})
    services("stop", "redis")
    try:
        body = await gql(client, PRODUCT, {"id": "52"}, explain=True)
        assert body["data"] == expected["data"]
        assert "errors" not in body
        assert cache_of(body, "product") == {"hits": 0, "misses": 0, "bypassed": 1}
    finally:
        services("start", "redis")

    async def cached_again() -> bool:
        await gql(client, PRODUCT, {"id": "52"})
        body = await gql(client, PRODUCT, {"id": "52"}, explain=True)
        return body["data"] == expected["data"] and cache_of(body, "product")["hits"] == 1

    assert await eventually(cached_again, timeout=30, interval=0.5)


@pytest.mark.services
async def test_after_a_redis_restart_pooled_connections_reconnect_without_failing_a_call(
    client: httpx.AsyncClient, sources: Sources, settings: Settings, seeded: object
) -> None:
    """Every pooled connection dies with the server; each is replaced on its first use (one retry), so the calls
    right after the restart neither bypass the cache nor count towards opening the Redis breaker."""
    ids = [str(60 + i) for i in range(8)]

    async def concurrently() -> list[dict[str, Any]]:
        return await asyncio.gather(*(gql(client, PRODUCT, {"id": i}, explain=True) for i in ids))

    async def all_cached() -> bool:
        bodies = await concurrently()
        return all("errors" not in b and cache_of(b, "product")["hits"] == 1 for b in bodies)

    async def cache_one_by_one() -> None:
        for product_id in ids:

            async def cached(product_id: str = product_id) -> bool:
                body = await gql(client, PRODUCT, {"id": product_id}, explain=True)
                return "errors" not in body and cache_of(body, "product")["hits"] == 1

            assert await eventually(cached, timeout=30)

    assert await eventually(all_cached, timeout=30)  # 8 concurrent misses, then hits: several pooled connections
    services("restart", "redis")
    await cache_one_by_one()  # one request at a time: most pooled connections are still the dead ones
    bodies = await concurrently()
    assert all("errors" not in b for b in bodies), [b.get("errors") for b in bodies]
    assert [cache_of(b, "product") for b in bodies] == [{"hits": 1, "misses": 0, "bypassed": 0}] * len(ids)
    assert sources.redis.breaker.state == "closed"
    assert sources.redis.breaker.streak == 0


@pytest.mark.services
async def test_a_hung_redis_times_out_the_cache_budget_without_opening_the_breaker(
    client: httpx.AsyncClient, sources: Sources, settings: Settings, seeded: object
) -> None:
    """Each lookup runs out of the cache's own 0.25 s budget, which says nothing about Redis being down: the
    breaker (which also guards carts and persisted queries) must not count it."""
    expected = await gql(client, PRODUCT, {"id": "54"})
    with paused("redis"):
        for _ in range(settings.breaker_failures + 1):
            body = await gql(client, PRODUCT, {"id": "54"}, explain=True)
            assert body["data"] == expected["data"]
            assert cache_of(body, "product") == {"hits": 0, "misses": 0, "bypassed": 1}
            timeouts = [c for c in body["extensions"]["explain"]["sources"]["redis"]["calls"] if c.get("error")]
            assert [c["error"] for c in timeouts] == ["TIMEOUT"]
        assert (sources.redis.breaker.state, sources.redis.breaker.streak) == ("closed", 0)


async def test_redis_paused_bypasses_the_cache_then_caches_again(
    client: httpx.AsyncClient, sources: Sources, settings: Settings, seeded: object
) -> None:
    expected = await gql(client, PRODUCT, {"id": "53"})
    await invalidate(sources, settings, [("product", 53)])
    pauser = Redis.from_url(settings.redis_url)
    try:
        await pauser.execute_command("CLIENT", "PAUSE", 3000, "ALL")
        body = await gql(client, PRODUCT, {"id": "53"}, explain=True)
        assert body["data"] == expected["data"]
        assert cache_of(body, "product") == {"hits": 0, "misses": 0, "bypassed": 1}
    finally:
        await pauser.execute_command("CLIENT", "UNPAUSE")
        await pauser.aclose()

    async def cached_again() -> bool:
        await gql(client, PRODUCT, {"id": "53"})
        body = await gql(client, PRODUCT, {"id": "53"}, explain=True)
        return cache_of(body, "product")["hits"] == 1

    assert await eventually(cached_again, timeout=30, interval=0.5)
