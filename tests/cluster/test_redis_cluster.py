"""Every Redis key family against a three-master Redis Cluster: the keys of one multi-key operation share a hash
tag (a cross-slot script or MGET would be refused by the cluster), and the operations keep their promises there:
the entity cache (spread over the masters) with its generations, the response cache with its tags and epoch,
APQ, carts (a merge across slots counts each line once), checkout locks, rate-limit buckets, and pub/sub (the
invalidations, with heartbeats after them, and order events); and a whole gateway on the cluster, with /stats."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from redis.crc import key_slot

from gateway.config import Settings
from gateway.errors import SourceError
from gateway.jobs.seeding import SeedReport
from gateway.stores.redis import cache, carts, persisted
from gateway.stores.redis.client import RedisSource
from gateway.stores.redis.pubsub import Heartbeat
from gateway.stores.redis.rate_limits import Buckets, Charge
from loaders.cached import keys_for
from tests.cache import test_response_cache as responses
from tests.conftest import token_for
from tests.http.conftest import serve

RUN = uuid.uuid4().hex[:8]


def _keys(settings: Settings) -> cache.EntityKeys:
    return cache.EntityKeys(f"test-cluster-{RUN}", "v", f"{{test-cluster-{RUN}}}:invalidations")


async def _masters_holding(source: RedisSource, names: list[str]) -> int:
    """How many masters serve the slots of ``names``."""
    nodes = {source.client.get_node_from_key(name).name for name in names}  # type: ignore[union-attr]
    return len(nodes)


async def test_the_entity_cache_spreads_over_the_masters_and_refuses_stale_fills(
    cluster_redis: RedisSource, cluster: Settings
) -> None:
    keys = _keys(cluster)
    ids = list(range(1, 21))
    assert await _masters_holding(cluster_redis, [keys.data("product", i) for i in ids]) == 3
    for i in ids:  # an entity's value and generation share a slot
        assert key_slot(keys.data("product", i).encode()) == key_slot(keys.generation("product", i).encode())

    looked = await cache.lookup(cluster_redis, keys, "product", ids)
    assert [x.value for x in looked] == [None] * 20
    fills = [cache.Fill("product", i, f"p{i}".encode(), 60, x.generation) for i, x in zip(ids, looked, strict=True)]
    assert await cache.fill(cluster_redis, keys, fills) == 20
    assert [x.value for x in await cache.lookup(cluster_redis, keys, "product", ids)] == [f"p{i}".encode() for i in ids]

    dropped = [2, 5, 11, 13, 17, 19, 20]
    await cache.invalidate(cluster_redis, keys, [("product", i) for i in dropped])
    after = await cache.lookup(cluster_redis, keys, "product", ids)
    assert [i for i, x in zip(ids, after, strict=True) if x.value is None] == dropped
    assert all(after[i - 1].generation == b"1" for i in dropped)
    # A fill that saw the old generation (before the invalidation) is refused; one that saw the new one is stored.
    stale = [cache.Fill("product", i, b"old", 60, looked[i - 1].generation) for i in dropped]
    assert await cache.fill(cluster_redis, keys, stale) == 0
    fresh = [cache.Fill("product", i, b"new", 60, after[i - 1].generation) for i in dropped]
    assert await cache.fill(cluster_redis, keys, fresh) == 7
    assert {x.value for x in await cache.lookup(cluster_redis, keys, "product", dropped)} == {b"new"}


async def test_the_response_cache_drops_tagged_responses_and_refuses_a_store_after_an_invalidation(
    cluster_redis: RedisSource, cluster: Settings
) -> None:
    keys = _keys(cluster)
    found, epoch = await cache.lookup_response(cluster_redis, keys, ["a", "b"])
    assert found == [None, None]
    tags = [("product", 7), ("user", 3)]
    assert await cache.store_response(cluster_redis, keys, "a", b'{"data":1}', ttl_s=30, epoch=epoch, tags=tags)
    assert await cache.store_response(cluster_redis, keys, "b", b'{"data":2}', ttl_s=30, epoch=epoch, tags=[])
    found, _ = await cache.lookup_response(cluster_redis, keys, ["a", "b"])
    assert found[0] is not None
    assert found[0].body == b'{"data":1}'
    assert found[0].tags == ("product:7", "user:3")
    assert 0 < found[0].ttl_s <= 30

    await cache.invalidate(cluster_redis, keys, [("product", 7)])
    found, moved = await cache.lookup_response(cluster_redis, keys, ["a", "b"])
    assert found[0] is None  # tagged with product 7
    assert found[1] is not None
    assert moved != epoch
    assert await cache.read_epoch(cluster_redis, keys) == moved
    # Computed before the invalidation: not stored.
    assert not await cache.store_response(cluster_redis, keys, "a", b"late", ttl_s=30, epoch=epoch, tags=tags)


async def test_persisted_documents_in_a_cluster(cluster_redis: RedisSource) -> None:
    hashes = [uuid.uuid4().hex * 2 for _ in range(6)]
    for i, sha in enumerate(hashes):
        assert await persisted.put(cluster_redis, sha256=sha, document=f"{{ n{i} }}", ttl_s=600)
        assert not await persisted.put(cluster_redis, sha256=sha, document="{ other }", ttl_s=600)
    assert await persisted.get(cluster_redis, sha256=hashes[0], ttl_s=600) == "{ n0 }"
    assert await persisted.touch(cluster_redis, sha256=hashes[1], ttl_s=600)
    stored = await persisted.stored(cluster_redis, limit=100_000)  # SCAN over every master, MGET per slot
    assert {f"{{ n{i} }}" for i in range(6)} <= set(stored)
    await cluster_redis.client.delete(*(persisted.key(sha) for sha in hashes))


async def test_carts_merge_across_slots_once_and_give_back_when_refused(cluster_redis: RedisSource) -> None:
    user = carts.user_key(900_000 + int(RUN, 16) % 1000)
    guest = carts.guest_key(f"guest-{RUN}")
    other_user = carts.user_key(910_000 + int(RUN, 16) % 1000)
    assert key_slot(user.encode()) != key_slot(guest.encode())
    try:
        await carts.add(cluster_redis, key=user, product_id=1, quantity=1, max_quantity=9, max_lines=3, ttl_s=600)
        for product_id, quantity in ((1, 2), (2, 5)):
            await carts.add(
                cluster_redis,
                key=guest,
                product_id=product_id,
                quantity=quantity,
                max_quantity=9,
                max_lines=3,
                ttl_s=60,
            )
        merges = await asyncio.gather(
            *(
                carts.merge(cluster_redis, key=user, guest=guest, max_quantity=9, max_lines=3, ttl_s=600)
                for _ in range(6)
            )
        )
        assert sum(state.changed for state in merges) == 1
        assert await carts.read(cluster_redis, key=user) == {1: 3, 2: 5}
        assert await carts.read(cluster_redis, key=guest) == {}

        # Refused (too many lines): the guest keeps its lines, the user's cart is unchanged.
        for product_id in (3, 4):
            await carts.add(
                cluster_redis, key=guest, product_id=product_id, quantity=1, max_quantity=9, max_lines=3, ttl_s=60
            )
        refused = await carts.merge(cluster_redis, key=user, guest=guest, max_quantity=9, max_lines=3, ttl_s=600)
        assert refused.status == "too_many_lines"
        assert await carts.read(cluster_redis, key=user) == {1: 3, 2: 5}
        assert await carts.read(cluster_redis, key=guest) == {3: 1, 4: 1}
        assert 0 < await cluster_redis.client.ttl(guest) <= 60

        # A merge into a missing cart starts from the MySQL snapshot (the seed).
        seeded = await carts.merge(
            cluster_redis,
            key=other_user,
            guest=guest,
            max_quantity=9,
            max_lines=3,
            ttl_s=600,
            seed=carts.Seed({5: 1}, 600),
        )
        assert seeded.items == {3: 1, 4: 1, 5: 1}
    finally:
        await cluster_redis.client.delete(user)
        await cluster_redis.client.delete(guest)
        await cluster_redis.client.delete(other_user)


async def test_checkout_locks_in_a_cluster(cluster_redis: RedisSource) -> None:
    key = carts.checkout_lock_key(920_000 + int(RUN, 16) % 1000)
    token = await carts.lock(cluster_redis, key=key, ttl_s=10)
    assert token is not None
    assert await carts.lock(cluster_redis, key=key, ttl_s=10) is None
    await carts.unlock(cluster_redis, key=key, token="not-the-token")
    assert await carts.lock(cluster_redis, key=key, ttl_s=10) is None
    await carts.unlock(cluster_redis, key=key, token=token)
    assert await carts.lock(cluster_redis, key=key, ttl_s=10) is not None
    await cluster_redis.client.delete(key)


async def test_invalidations_reach_a_subscriber_before_a_later_heartbeat(
    cluster_redis: RedisSource, cluster: Settings
) -> None:
    keys = keys_for(cluster)
    assert key_slot(keys.channel.encode()) == key_slot(keys.epoch.encode())
    seen: list[bytes | Heartbeat | SourceError] = []
    cluster_redis.channels.heartbeat_s = 0.05
    async with cluster_redis.channels.listen(keys.channel, watch=seen.append):
        for _ in range(100):
            if any(isinstance(item, Heartbeat) for item in seen):
                break
            await asyncio.sleep(0.05)
        await cache.invalidate(cluster_redis, keys, [("product", 424242)])
        sent_after = asyncio.get_running_loop().time()
        for _ in range(100):
            if any(isinstance(item, Heartbeat) and item.sent >= sent_after for item in seen):
                break
            await asyncio.sleep(0.05)
    messages = [item for item in seen if isinstance(item, bytes)]
    assert len(messages) == 1
    assert messages[0].endswith(b" product:424242")
    first_late_beat = next(i for i, item in enumerate(seen) if isinstance(item, Heartbeat) and item.sent >= sent_after)
    assert seen.index(messages[0]) < first_late_beat


async def test_order_events_are_published_across_the_cluster(cluster_redis: RedisSource) -> None:
    channel = f"gw:0:order:{RUN}"
    async with cluster_redis.channels.listen(channel) as listener:
        assert await cluster_redis.channels.publish(channel, b"SHIPPED") >= 1
        assert await asyncio.wait_for(anext(listener), 5) == b"SHIPPED"


async def test_rate_limit_buckets_of_one_client_in_different_slots(cluster_redis: RedisSource) -> None:
    """A guest is charged to its session's bucket and its address's: keys of different slots (one script for all
    would be refused as CROSSSLOT), so one script per slot."""
    buckets = Buckets(cluster_redis)
    names = [f"gw:test-cluster-{RUN}:rl:{who}" for who in ("session:a", "address:127.0.0.1", "user:7", "guest:x")]
    assert len({key_slot(name.encode()) for name in names}) > 1
    first = await buckets.charge([Charge(name, 100, 0.001, 10 * (i + 1)) for i, name in enumerate(names)])
    assert first == pytest.approx([90, 80, 70, 60], abs=0.01)  # each bucket's own answer, in the order asked
    again = await buckets.charge([Charge(names[2], 100, 0.001, 5), Charge(names[0], 100, 0.001, 1)])
    assert again == pytest.approx([65, 89], abs=0.01)  # a refill of 1 token per 1,000 s in between


async def test_a_gateway_on_the_cluster_answers_caches_and_reports_stats(cluster: Settings, seeded: SeedReport) -> None:
    """A whole app on the cluster: a persisted query stored, then answered from Redis by a second app (no memory
    shared), and /stats reading every master's keys and memory."""
    document = responses.fresh(responses.PRODUCT)
    async with serve(cluster) as first:
        stored = await responses.persisted(first, document, {"id": "61"}, register=True)
        assert stored.headers["x-gateway-cache"] == "stored", stored.text
    async with serve(cluster) as second:
        hit = await responses.persisted(second, document, {"id": "61"})
        assert hit.headers["x-gateway-cache"] == "hit", hit.text
        assert hit.json() == stored.json()
        response = await second.get("/stats", headers={"Authorization": f"Bearer {token_for(943, admin=True)}"})
    assert response.status_code == 200, response.text
    redis = response.json()["redis"]
    assert redis["keys"]["response"] >= 1
    assert redis["keys"]["apq"] >= 1
    assert redis["complete"] is True
    assert redis["usedMemoryBytes"] > 0
    assert response.json()["stores"]["redis"]["pool"]["size"] is None  # a pool per node: not one figure
