"""The in-process caches (gateway/memory/, docs/hot-path.md) against the real Redis: a hit in memory costs no round
trip and no parse; memory holds what Redis holds, with its tags and no longer; the staleness gate and the
resynchronisation after a lost connection; the byte bounds, under a flood of distinct variables, and against what
the entries really hold (tracemalloc)."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import time
import tracemalloc
import uuid
from collections.abc import AsyncIterator

import orjson
import pytest
import pytest_asyncio

from engine.documents import Documents, footprint
from gateway.config import Settings
from gateway.errors import SourceUnavailable
from gateway.http.manifests import Manifests
from gateway.http.persisted import PersistedQueries
from gateway.memory.invalidations import Invalidations
from gateway.memory.lru import ByteLRU
from gateway.memory.responses import LocalResponses
from gateway.stores import Sources
from gateway.stores.redis import cache as redis_cache
from gateway.stores.redis.pubsub import Heartbeat
from loaders.cached import keys_for
from schema import schema
from tests.cache.test_response_cache import CACHE, _digest, fresh, persisted
from tests.conftest import eventually, make_test_settings
from tests.http.conftest import serve, serve_app

PRODUCT = "query ($id: ID!) { product(id: $id) { id title } }"


async def test_a_hit_in_memory_costs_no_round_trip_and_no_parse(settings: Settings, seeded: object) -> None:
    async with serve_app(settings) as (client, http):
        document = fresh(PRODUCT)
        first = await persisted(client, document, {"id": "70"}, register=True)
        assert first.headers[CACHE] == "stored"
        assert document in http.engine.documents  # prepared to run the first request
        http.engine.documents._kept.pop(document)
        hit = await persisted(client, document, {"id": "70"}, explain=True)
        assert hit.headers[CACHE] == "hit-local"
        assert hit.json()["data"] == first.json()["data"]
        explain = hit.json()["extensions"]["explain"]
        assert explain["sources"] == {}  # neither the APQ document nor the response asked of Redis
        assert (explain["persistedDocument"], explain["responseCache"]) == ("memory", "hit-local")
        assert "executor" not in explain
        assert "plan" not in explain
        assert document not in http.engine.documents  # nor was the document parsed again
        other = await persisted(client, document, {"id": "71"})
        assert other.headers[CACHE] == "stored"  # other variables: another entry


async def test_memory_holds_what_redis_holds_with_its_tags_and_no_longer(
    settings: Settings, sources: Sources, seeded: object
) -> None:
    document = fresh(PRODUCT)
    keys = keys_for(settings)
    async with serve(settings.model_copy(update={"memory_cache": False})) as redis_only:
        assert (await persisted(redis_only, document, {"id": "72"}, register=True)).headers[CACHE] == "stored"
    name = keys.response(_digest(document, None, {"id": "72"}) + ":public")
    assert (await sources.redis.client.get(name) or b"").startswith(b"product:72\n")  # its tags, then the body
    await sources.redis.client.pexpire(name, 5_000)  # as if most of its life had gone by
    async with serve_app(settings) as (client, http):
        assert http.memory is not None
        looked = await persisted(client, document, {"id": "72"})
        assert looked.headers[CACHE] == "hit"  # from Redis, and now in memory
        ((key, entry),) = [(k, http.memory.lru.get(k, time.monotonic())) for k in http.memory.lru]
        assert entry is not None
        assert entry.tags == ("product:72",)
        assert entry.expires - time.monotonic() <= 5.0  # Redis's remaining life, not the TTL's default
        assert (await persisted(client, document, {"id": "72"})).headers[CACHE] == "hit-local"
        # An invalidation made elsewhere (the script alone, as another process would run it) reaches memory
        # through the channel.
        await redis_cache.invalidate(sources.redis, keys, [("product", 72)])

        async def dropped() -> bool:
            return key not in http.memory.lru

        assert await eventually(dropped, timeout=10, interval=0.02)
        again = await persisted(client, document, {"id": "72"})
        assert again.headers[CACHE] == "stored"


# --- the staleness gate -------------------------------------------------------------------------------------


def test_memory_serves_a_bound_after_the_newest_heartbeat_and_never_once_the_connection_is_lost() -> None:
    memory = LocalResponses(1 << 20, "test:gate")
    gate = Invalidations(memory, keys_for(make_test_settings()), bound_s=1.0)
    assert not gate.fresh(0.0)  # not following anything yet
    gate.synced, gate.applied = True, 5
    gate.on_item(Heartbeat(100.0))
    assert gate.fresh(100.9)
    assert not gate.fresh(101.01)  # the newest confirmation is older than the bound
    key = (b"k", 0)
    assert memory.put(key, b"{}", ["product:1"], ttl_s=60, private=False, seen=memory.generation, now=100.5)
    assert memory.get(key, 100.6) is not None
    assert memory.get(key, 101.5) is None  # held, but not served
    gate.on_item(b"6 product:2")
    assert memory.get(key, 100.6) is not None
    assert gate.applied == 6
    gate.on_item(b"7 product:1")
    assert memory.get(key, 100.6) is None  # dropped by its tag
    assert memory.put(key, b"{}", ["product:3"], ttl_s=60, private=False, seen=memory.generation, now=100.5)
    gate.on_item(b"9 product:4")  # epoch 8 was never heard: anything may be stale
    assert memory.get(key, 100.6) is None
    assert gate.flushes == 1
    seen = memory.generation
    gate.on_item(b"10 user:1")
    assert memory.put(key, b"{}", ["product:3"], ttl_s=60, private=False, seen=seen, now=100.5) is None  # raced
    gate.on_item(SourceUnavailable("redis", "connection lost"))
    assert not gate.fresh(100.5)


@pytest_asyncio.fixture
async def own_sources(settings: Settings) -> AsyncIterator[Sources]:
    """Store clients of their own, with a pub/sub connection this test may kill."""
    sources = Sources.create(settings.model_copy(update={"memory_cache_stale_s": 0.4}))
    sources.redis.channels.name = f"test-gate-{uuid.uuid4().hex[:8]}"
    yield sources
    await sources.close()


async def kill_pubsub(sources: Sources) -> None:
    name = sources.redis.channels.name
    (connection,) = [c for c in await sources.redis.client.client_list() if c.get("name") == name]
    await sources.redis.client.client_kill_filter(_id=connection["id"])


async def test_after_a_lost_connection_memory_is_bypassed_then_kept_or_flushed_by_the_epoch(
    own_sources: Sources,
) -> None:
    sources = own_sources
    run = uuid.uuid4().hex[:8]
    keys = redis_cache.EntityKeys(f"test-gate:{run}", "v", f"test-gate:{run}:invalidations")
    memory = LocalResponses(1 << 20, keys.channel)
    gate = Invalidations(memory, keys, bound_s=0.4, retry_s=0.2)
    following = asyncio.create_task(gate.run(sources))

    def put(key: bytes, tag: str) -> bool:
        now = time.monotonic()
        return memory.put((key, 0), b"{}", [tag], ttl_s=60, private=False, seen=memory.generation, now=now) is not None

    def held(key: bytes) -> bool:
        return memory.get((key, 0), time.monotonic()) is not None

    async def synced() -> bool:
        return gate.fresh(time.monotonic())

    async def bypassed() -> bool:
        return not gate.fresh(time.monotonic())

    try:
        assert not put(b"early", "product:1")  # not kept before the channel is followed
        assert await eventually(synced, timeout=10, interval=0.02)
        assert put(b"a", "product:1")
        assert put(b"b", "product:2")
        await redis_cache.invalidate(sources.redis, keys, [("product", 1)])

        async def a_dropped() -> bool:
            return not held(b"a")

        assert await eventually(a_dropped, timeout=10, interval=0.02)
        assert held(b"b")
        # Lost, and nothing was invalidated meanwhile: bypassed, then served again with what it held.
        await kill_pubsub(sources)
        assert await eventually(bypassed, timeout=10, interval=0.01)
        assert not held(b"b")  # held, not served
        assert await eventually(synced, timeout=10, interval=0.02)
        assert held(b"b")
        assert gate.flushes == 0
        # Lost after an invalidation nobody here heard (the epoch moved without a message): flushed.
        await sources.redis.client.incr(keys.epoch)
        await kill_pubsub(sources)
        assert await eventually(bypassed, timeout=10, interval=0.01)
        assert await eventually(synced, timeout=10, interval=0.02)
        assert not held(b"b")
        assert gate.flushes == 1
    finally:
        following.cancel()
        made = [k async for k in sources.redis.client.scan_iter(match=f"test-gate:{run}:*")]
        if made:
            await sources.redis.client.delete(*made)


# --- bytes --------------------------------------------------------------------------------------------------


async def test_a_flood_of_distinct_variables_stays_within_the_bound(settings: Settings, seeded: object) -> None:
    """Every request a new entry (undeclared variables are part of the key): the oldest are evicted and the bytes
    counted never pass the responses' share of the budget (768 KiB of 1 MiB)."""
    small = settings.model_copy(update={"memory_cache_bytes": 1 << 20})
    document = fresh(PRODUCT)
    async with serve_app(small) as (client, http):
        assert http.memory is not None
        lru = http.memory.lru
        assert lru.capacity == 768 * 1024
        await persisted(client, document, {"id": "1"}, register=True)
        prepared = len(http.engine.documents)
        highest = 0
        for i in range(300):
            variables = {"id": "1", "junk": f"{i}-" + "x" * 4_000}
            response = await persisted(client, document, variables)
            assert response.headers[CACHE] == "stored"
            assert response.json()["data"]["product"]["id"] == "1"
            highest = max(highest, lru.bytes)
        assert highest <= lru.capacity
        assert lru.evicted > 100
        assert len(lru) < 200
        assert len(http.engine.documents) == prepared  # one document, however many variables


def _held(build: object) -> int:
    """Bytes still allocated by what ``build()`` made (tracemalloc, after a full collection)."""
    gc.collect()
    before = tracemalloc.get_traced_memory()[0]
    kept = build()  # type: ignore[operator]
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - before
    del kept
    return held


def test_what_the_caches_count_bounds_what_their_entries_hold() -> None:
    """The counted bytes are an upper bound of what tracemalloc sees held: responses with fresh orjson bodies (which
    keep their growth buffer unless copied) and tags of their own, APQ documents, prepared documents with plans."""
    tracemalloc.start()
    try:
        memory = LocalResponses(1 << 40, "test:bytes")
        memory.fresh = lambda now: True

        def responses() -> None:
            for i in range(2_000):
                identity = orjson.dumps([hashlib.sha256(b"d").hexdigest(), None, {"id": str(i)}])
                body = orjson.dumps({"data": {"product": {"id": str(i), "title": "t" * 300}}})
                tags = [f"product:{7 * i + k}" for k in range(7)]
                memory.put((identity, 0), body, tags, ttl_s=60, private=False, seen=memory.generation, now=0.0)

        assert 0 < _held(responses) <= memory.lru.bytes
        queries = PersistedQueries(make_test_settings(), Manifests(), 1 << 40)

        def documents() -> None:
            for i in range(2_000):
                text = f"query Q{i}($id: ID!) {{ product(id: $id) {{ id title price }} }}"
                queries._remember(hashlib.sha256(text.encode()).hexdigest(), text)

        assert queries.memory is not None
        assert 0 < _held(documents) <= queries.memory.bytes
        prepared = Documents(schema._schema, make_test_settings(), size=1000, max_bytes=1 << 40)
        texts = [
            "query ($id: ID!) { product(id: $id) { id title price attributes rating { average count } } }",
            '{ user(id: "5") { name orders(first: 10) { edges { node { id items { quantity } } } } } }',
            "{ popularProducts(limit: 5) { id title categories { name } } }",
        ]
        prepared.warm(texts)
        assert prepared.bytes == sum(footprint(text, 1) for text in texts)  # each with its plan
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        counted = prepared.bytes
        for text in texts:
            prepared._kept.pop(text)
        gc.collect()
        assert 0 < before - tracemalloc.get_traced_memory()[0] <= counted  # what leaving the cache gives back
    finally:
        tracemalloc.stop()


def test_prepared_documents_are_bounded_in_bytes_and_a_later_plan_counts() -> None:
    a, b, c, d, e = (f"{{ {name}: __typename }}" for name in "abcde")  # of one length: one footprint
    documents = Documents(schema._schema, make_test_settings(), size=1000, max_bytes=4 * footprint(a, 1) + 10)
    documents.warm([a, b, c, d])
    assert len(documents) == 4
    assert documents.bytes == 4 * footprint(a, 1)
    documents.get(a)  # used again: now the most recent
    documents.warm([e])  # evicts b, the least recently used
    assert (a in documents, b in documents, e in documents) == (True, False, True)
    assert documents.bytes <= 4 * footprint(a, 1) + 10
    switches = "query ($s: Boolean!) { __typename @include(if: $s) }"
    held = Documents(schema._schema, make_test_settings(), size=1000, max_bytes=1 << 20)
    document = held.get(switches)
    assert held.bytes == footprint(switches, 0)
    operation = document.operation(None)
    assert operation is not None
    from graphql.execution.values import get_variable_values

    for value in (True, False):
        variables = get_variable_values(schema._schema, operation.variable_definitions, {"s": value})
        assert not isinstance(variables, list)
        held.plan(document, operation, variables)
    assert held.bytes == footprint(switches, 2)  # one plan per @include value, each counted


def test_the_lru_is_bounded_in_bytes_and_drops_what_expired() -> None:
    dropped: list[str] = []
    lru: ByteLRU[str, str] = ByteLRU(100, max_entry_bytes=60, on_drop=lambda key, value: dropped.append(key))
    assert lru.put("a", "A", 40)
    assert lru.put("b", "B", 40)
    assert lru.get("a") == "A"  # a is now the most recent
    assert lru.put("c", "C", 40)  # b goes: 120 > 100
    assert ("a" in lru, "b" in lru, "c" in lru) == (True, False, True)
    assert (lru.bytes, lru.evicted, dropped) == (80, 1, ["b"])
    assert not lru.put("big", "X", 61)
    assert "big" not in lru
    assert lru.put("d", "D", 10, expires=5.0)
    assert lru.get("d", now=4.9) == "D"
    assert lru.get("d", now=5.0) is None
    assert "d" not in lru
    lru.clear()
    assert (len(lru), lru.bytes) == (0, 0)


@pytest.mark.parametrize("share", ["responses", "documents", "persisted"])
def test_the_memory_budget_is_shared_by_the_caches(share: str) -> None:
    from gateway.config import memory_shares

    shares = memory_shares(make_test_settings(memory_cache_bytes=64 << 20))
    assert shares.responses + shares.documents + shares.persisted == 64 << 20
    assert getattr(shares, share) > 0
