"""deleteUser (the right to be forgotten): MySQL anonymises the row at once (orders keep their totals); the Neo4j
node, the MongoDB profile and events, and the user's Redis keys follow through the relay; reconcile agrees. With a
store stopped the mutation still answers, no read finds the user, and the relay finishes once the store is back."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import delete, func, select

from gateway.config import Settings
from gateway.jobs.reconcile import check
from gateway.jobs.relay import Relay
from gateway.stores import Sources
from gateway.stores.mongo.schema import EVENTS, USER_PROFILES
from gateway.stores.mysql import outbox as mysql_outbox
from gateway.stores.mysql import tables as t
from gateway.stores.mysql.catalog import forgotten_email
from gateway.stores.redis import carts as redis_carts
from tests.conftest import eventually, gql, token_for
from tests.services import services
from tests.writes.conftest import OTHER_ID, PRODUCT_ID
from tests.writes.test_catalog import REGISTER, codes, graph
from tests.writes.test_orders import CREATE, line, order
from tests.writes.test_popularity import counters
from tests.writes.test_relay import FAST

DELETE = "mutation ($id: ID!) { deleteUser(id: $id) }"
USER = "query ($id: ID!) { user(id: $id) { id name } }"
ORDER = "query ($id: ID!) { order(id: $id) { id total } }"


async def mysql_user(sources: Sources, user_id: int) -> dict[str, Any]:
    async with sources.mysql.engine.connect() as conn:
        row = (await conn.execute(select(t.users).where(t.users.c.id == user_id))).mappings().one()
    return dict(row)


def limit_key(settings: Settings, user_id: int) -> str:
    return f"{settings.cache_namespace}:{settings.mysql_database}:rl:user:{user_id}"


@pytest_asyncio.fixture
async def customer(
    client: httpx.AsyncClient, sources: Sources, settings: Settings, stocked: list[int]
) -> AsyncIterator[dict[str, Any]]:
    """A registered user, in every store, with an order, a rating, a cart, a behaviour event naming a guest session
    with its cart, and a rate-limit bucket. Removed from every store afterwards (the anonymised row too)."""
    email = f"forget.me.{time.time_ns()}@example.test"
    body = await gql(client, REGISTER, {"input": {"email": email, "name": "Forget Me", "favoriteGenres": ["Drama"]}})
    assert "errors" not in body, body
    user_id = int(body["data"]["registerUser"]["id"])
    session = f"forget-session-{user_id}"
    order_ids: list[int] = []
    redis = sources.redis.client
    try:
        placed = await order(client, user_id, f"forget-{user_id}", [line(PRODUCT_ID, 2)])
        assert "errors" not in placed, placed
        order_ids.append(int(placed["data"]["createOrder"]["id"]))
        rated = await gql(
            client,
            "mutation ($p: ID!) { rateProduct(productId: $p, rating: 4) { id } }",
            {"p": str(OTHER_ID)},
            user=user_id,
        )
        assert "errors" not in rated, rated
        carted = await gql(
            client,
            "mutation ($p: ID!) { addToCart(productId: $p) { items { quantity } } }",
            {"p": str(OTHER_ID)},
            user=user_id,
        )
        assert "errors" not in carted, carted
        await sources.mongodb.db[EVENTS].insert_one(
            {"user_id": user_id, "session_id": session, "type": "view", "product_id": OTHER_ID, "ts": time.time()}
        )
        await redis.hset(redis_carts.guest_key(session), str(OTHER_ID), "1")
        await redis.hset(limit_key(settings, user_id), "t", "5")
        await Relay(sources, FAST).drain()
        assert await graph(sources, "MATCH (u:User {id: $id})-[:PURCHASED]->() RETURN u.id AS id", id=user_id)
        assert await sources.mongodb.db[USER_PROFILES].find_one({"_id": user_id}) is not None
        yield {"id": user_id, "email": email, "order": order_ids[0], "session": session}
    finally:
        async with sources.mysql.engine.begin() as conn:
            await conn.execute(delete(t.outbox))
            await conn.execute(delete(t.order_items).where(t.order_items.c.order_id.in_(order_ids)))
            await conn.execute(delete(t.orders).where(t.orders.c.user_id == user_id))
            await conn.execute(delete(t.ratings).where(t.ratings.c.user_id == user_id))
            await conn.execute(delete(t.cart_snapshots).where(t.cart_snapshots.c.user_id == user_id))
            await conn.execute(delete(t.users).where(t.users.c.id == user_id))
        await graph(sources, "MATCH (u:User {id: $id}) DETACH DELETE u", id=user_id)
        await sources.mongodb.db[USER_PROFILES].delete_one({"_id": user_id})
        await sources.mongodb.db[EVENTS].delete_many({"user_id": user_id})
        await redis.delete(redis_carts.user_key(user_id), redis_carts.guest_key(session), limit_key(settings, user_id))


async def redis_keys(sources: Sources, settings: Settings, who: dict[str, Any]) -> list[str]:
    names = [redis_carts.user_key(who["id"]), redis_carts.guest_key(who["session"]), limit_key(settings, who["id"])]
    return [name for name in names if await sources.redis.client.exists(name)]


async def assert_forgotten_everywhere(sources: Sources, settings: Settings, who: dict[str, Any]) -> None:
    user_id = who["id"]
    assert await graph(sources, "MATCH (u:User {id: $id}) RETURN u.id AS id", id=user_id) == []
    assert await sources.mongodb.db[USER_PROFILES].find_one({"_id": user_id}) is None
    assert await sources.mongodb.db[EVENTS].count_documents({"user_id": user_id}) == 0
    assert await redis_keys(sources, settings, who) == []
    report = await check(sources)
    assert not report.drift, report.text()
    assert report.by_name("users → neo4j:User").source_count == report.by_name("users → neo4j:User").copy_count


async def test_delete_user_forgets_in_every_store_and_orders_keep_their_totals(
    client: httpx.AsyncClient, sources: Sources, settings: Settings, customer: dict[str, Any]
) -> None:
    user_id = customer["id"]
    before = await gql(client, ORDER, {"id": str(customer["order"])}, admin=True)
    assert "errors" not in before, before
    assert await redis_keys(sources, settings, customer)  # the fixture's keys exist before
    assert (await gql(client, USER, {"id": str(user_id)}, admin=True))["data"]["user"]["name"] == "Forget Me"

    body = await gql(client, DELETE, {"id": str(user_id)}, admin=True)
    assert body == {"data": {"deleteUser": str(user_id)}}
    # MySQL at once: the row anonymised, ratings and cart snapshot gone, the order kept with its total.
    row = await mysql_user(sources, user_id)
    assert row["email"] == forgotten_email(user_id)
    assert (row["name"], row["age"], row["gender"], row["occupation"], row["zip_code"]) == ("", None, None, None, None)
    assert row["deleted_at"] is not None
    async with sources.mysql.engine.connect() as conn:
        ratings = select(func.count()).select_from(t.ratings).where(t.ratings.c.user_id == user_id)
        assert (await conn.execute(ratings)).scalar_one() == 0
        events = select(t.outbox.c.event_type).where(t.outbox.c.aggregate_id == str(user_id))
        assert "user.deleted" in {r[0] for r in await conn.execute(events)}
    assert codes(await gql(client, USER, {"id": str(user_id)}, admin=True)) == ["NOT_FOUND"]
    after = await gql(client, ORDER, {"id": str(customer["order"])}, admin=True)
    assert after == before
    again = await gql(client, DELETE, {"id": str(user_id)}, admin=True)
    assert again == {"data": {"deleteUser": str(user_id)}}  # idempotent: nothing more written
    async with sources.mysql.engine.connect() as conn:
        count = select(func.count()).select_from(t.outbox).where(t.outbox.c.event_type == "user.deleted")
        assert (await conn.execute(count)).scalar_one() == 1

    report = await Relay(sources, FAST).drain()
    assert report.parked == []
    await assert_forgotten_everywhere(sources, settings, customer)
    # The products the user had bought count their purchase no more (the node's counters, popularity.py).
    assert await counters(sources, [PRODUCT_ID]) == {PRODUCT_ID: ([0, 0], [0, 0])}


async def test_a_token_minted_before_delete_user_writes_nothing_afterwards(
    client: httpx.AsyncClient, sources: Sources, settings: Settings, customer: dict[str, Any]
) -> None:
    """The forgotten user's token is still signed and unexpired: its order, rating and cart change are refused
    (401 UNAUTHENTICATED) and none of them writes a row, an outbox event or a Redis cart. Their rate-limit charge
    makes a bucket that expires by itself within about a second (full again)."""
    user_id = customer["id"]
    assert await gql(client, DELETE, {"id": str(user_id)}, admin=True) == {"data": {"deleteUser": str(user_id)}}
    await Relay(sources, FAST).drain()  # the cart and the rest are gone from Redis, MongoDB and Neo4j
    async with sources.mysql.engine.connect() as conn:
        outbox_before = (await conn.execute(select(func.count()).select_from(t.outbox))).scalar_one()
    headers = {"Authorization": "Bearer " + token_for(user_id)}
    writes = [
        (CREATE, {"items": [line(PRODUCT_ID, 1)], "key": f"after-forget-{user_id}"}),
        ("mutation ($p: ID!) { rateProduct(productId: $p, rating: 5) { id } }", {"p": str(OTHER_ID)}),
        ("mutation ($p: ID!) { addToCart(productId: $p) { items { quantity } } }", {"p": str(OTHER_ID)}),
    ]
    for query, variables in writes:
        response = await client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
        assert response.status_code == 401, response.text
        assert codes(response.json()) == ["UNAUTHENTICATED"], response.text
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    async with sources.mysql.engine.connect() as conn:
        orders = select(func.count()).select_from(t.orders).where(t.orders.c.user_id == user_id)
        assert (await conn.execute(orders)).scalar_one() == 1  # the one placed before deleteUser, kept
        ratings = select(func.count()).select_from(t.ratings).where(t.ratings.c.user_id == user_id)
        assert (await conn.execute(ratings)).scalar_one() == 0
        snapshots = select(func.count()).select_from(t.cart_snapshots).where(t.cart_snapshots.c.user_id == user_id)
        assert (await conn.execute(snapshots)).scalar_one() == 0
        assert (await conn.execute(select(func.count()).select_from(t.outbox))).scalar_one() == outbox_before
    assert await sources.redis.client.exists(redis_carts.user_key(user_id)) == 0

    async def no_keys_left() -> bool:  # the refused requests' rate-limit charge: a bucket that expires once full
        return await redis_keys(sources, settings, customer) == []

    assert await eventually(no_keys_left, timeout=10)
    await assert_forgotten_everywhere(sources, settings, customer)


async def test_bad_input_and_non_admins_write_nothing(
    client: httpx.AsyncClient, sources: Sources, customer: dict[str, Any]
) -> None:
    user_id = customer["id"]
    assert codes(await gql(client, DELETE, {"id": str(user_id)}, user=user_id)) == ["FORBIDDEN"]
    guest = await client.post("/graphql", json={"query": DELETE, "variables": {"id": str(user_id)}})
    assert guest.status_code == 401
    assert codes(guest.json()) == ["UNAUTHENTICATED"]
    assert codes(await gql(client, DELETE, {"id": "not-an-id"}, admin=True)) == ["BAD_USER_INPUT"]
    assert codes(await gql(client, DELETE, {"id": "999999999"}, admin=True)) == ["NOT_FOUND"]
    row = await mysql_user(sources, user_id)
    assert (row["email"], row["deleted_at"]) == (customer["email"], None)
    async with sources.mysql.engine.connect() as conn:
        count = select(func.count()).select_from(t.outbox).where(t.outbox.c.event_type == "user.deleted")
        assert (await conn.execute(count)).scalar_one() == 0


@pytest.mark.services
@pytest.mark.parametrize("store", ["neo4j", "mongodb", "redis"])
async def test_with_a_store_stopped_the_user_is_gone_for_clients_and_the_relay_catches_up(
    client: httpx.AsyncClient, sources: Sources, settings: Settings, customer: dict[str, Any], store: str
) -> None:
    """MySQL decides: with another store stopped deleteUser answers, no read finds the user, and the relay holds
    the event back (no attempt counted, nothing parked) until the store is back, then finishes it."""
    user_id = customer["id"]
    services("stop", store)
    try:
        body = await gql(client, DELETE, {"id": str(user_id)}, admin=True)
        looked = await gql(client, USER, {"id": str(user_id)}, admin=True)
        report = await Relay(sources, FAST, name="down").run_once()
        async with sources.mysql.engine.connect() as conn:
            pending = (
                await conn.execute(
                    select(t.outbox.c.attempts, t.outbox.c.parked_at, t.outbox.c.last_error).where(
                        t.outbox.c.event_type == "user.deleted"
                    )
                )
            ).one()
    finally:
        services("start", store)
    assert body == {"data": {"deleteUser": str(user_id)}}
    assert codes(looked) == ["NOT_FOUND"]
    assert report.applied == [] or report.delayed  # the user.deleted event is not applied while the store is down
    assert (pending.attempts, pending.parked_at) == (0, None)
    assert "SourceUnavailable" in pending.last_error or "Timeout" in pending.last_error

    async def drained() -> bool:
        await Relay(sources, FAST, name="up").drain()
        return (await mysql_outbox.lag(sources.mysql, 5)).pending == 0

    assert await eventually(drained, timeout=60, interval=0.5)
    await assert_forgotten_everywhere(sources, settings, customer)
