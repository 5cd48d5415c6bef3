"""Carts against the real Redis (the tests' db 1) and MySQL: lines and caps, guest sessions, merging once (even
concurrently), checkout only after the order commits, the MySQL snapshot (written on every change, restored after
a FLUSHDB, read while Redis is down), who may read a cart, and invalid input that writes nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import delete, func, select, update

from gateway.config import Settings
from gateway.stores import Sources
from gateway.stores.mysql import tables as t
from gateway.stores.mysql.transactions import now
from gateway.stores.redis.carts import checkout_lock_key, guest_key, user_key
from tests.conftest import gql, make_test_settings
from tests.http.conftest import serve
from tests.writes.conftest import OTHER_ID, PRODUCT_ID, STOCK, stock_of

ALICE, BOB, CAROL = 601, 602, 603  # seeded MovieLens users, used by no other write test
GUEST, OTHER_GUEST = "cart-guest-session-0001", "cart-guest-session-0002"

CART = "items { quantity lineTotal product { id } } totalQuantity subtotal"
ADD = f"mutation ($p: ID!, $q: Int!) {{ addToCart(productId: $p, quantity: $q) {{ {CART} }} }}"
REMOVE = f"mutation ($p: ID!, $q: Int) {{ removeFromCart(productId: $p, quantity: $q) {{ {CART} }} }}"
MERGE = f"mutation {{ mergeGuestCart {{ {CART} }} }}"
CHECKOUT = "mutation ($k: String!) { checkout(idempotencyKey: $k) { id total items { quantity product { id } } } }"
READ = f"{{ cart {{ {CART} }} }}"
USER_CART = f"query ($id: ID!) {{ user(id: $id) {{ id cart {{ {CART} }} }} }}"


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


def lines(cart: dict[str, Any]) -> dict[int, int]:
    return {int(item["product"]["id"]): item["quantity"] for item in cart["items"]}


def session(session_id: str) -> dict[str, str]:
    return {"X-Session-Id": session_id}


async def add(client: httpx.AsyncClient, product_id: object, quantity: int, **who: Any) -> dict[str, Any]:
    return await gql(client, ADD, {"p": str(product_id), "q": quantity}, **who)


async def in_redis(sources: Sources, key: str) -> dict[int, int]:
    stored = await sources.redis.client.hgetall(key)
    return {int(field): int(value) for field, value in stored.items()}


async def snapshot(sources: Sources, user_id: int) -> tuple[dict[int, int], int] | None:
    """The snapshot row's items and version; None without a row."""
    async with sources.mysql.engine.connect() as conn:
        row = (
            await conn.execute(
                select(t.cart_snapshots.c["items"], t.cart_snapshots.c.version).where(
                    t.cart_snapshots.c.user_id == user_id
                )
            )
        ).first()
    return None if row is None else ({int(p): int(q) for p, q in row[0]}, int(row[1]))


async def orders_with_key(sources: Sources, key: str) -> int:
    async with sources.mysql.engine.connect() as conn:
        count = await conn.execute(select(func.count()).select_from(t.orders).where(t.orders.c.idempotency_key == key))
        return int(count.scalar_one())


async def clear(sources: Sources) -> None:
    users = [ALICE, BOB, CAROL]
    keys = [user_key(u) for u in users] + [checkout_lock_key(u) for u in users] + [guest_key(GUEST)]
    await sources.redis.client.delete(*keys, guest_key(OTHER_GUEST))
    async with sources.mysql.engine.begin() as conn:
        await conn.execute(delete(t.cart_snapshots).where(t.cart_snapshots.c.user_id.in_(users)))


@pytest_asyncio.fixture
async def carts(sources: Sources, stocked: list[int]) -> AsyncIterator[None]:
    """The test users' and guests' carts empty in Redis and MySQL, before and after; the stocked products."""
    await clear(sources)
    yield
    await clear(sources)


async def test_add_remove_quantities_and_subtotal(
    client: httpx.AsyncClient, sources: Sources, settings: Settings, carts: None
) -> None:
    await add(client, PRODUCT_ID, 2, user=ALICE)
    await add(client, PRODUCT_ID, 3, user=ALICE)
    cart = (await add(client, OTHER_ID, 1, user=ALICE))["data"]["addToCart"]
    assert lines(cart) == {PRODUCT_ID: 5, OTHER_ID: 1}
    assert cart["totalQuantity"] == 6
    assert cart["subtotal"] == "75.00"  # 6 x 12.50
    assert [item["lineTotal"] for item in cart["items"]] == ["62.50", "12.50"]
    assert await in_redis(sources, user_key(ALICE)) == {PRODUCT_ID: 5, OTHER_ID: 1}
    assert 0 < await sources.redis.client.ttl(user_key(ALICE)) <= settings.cart_ttl_s
    assert await snapshot(sources, ALICE) == ({PRODUCT_ID: 5, OTHER_ID: 1}, 3)

    cart = (await gql(client, REMOVE, {"p": str(PRODUCT_ID), "q": 2}, user=ALICE))["data"]["removeFromCart"]
    assert lines(cart) == {PRODUCT_ID: 3, OTHER_ID: 1}
    cart = (await gql(client, REMOVE, {"p": str(OTHER_ID)}, user=ALICE))["data"]["removeFromCart"]
    assert lines(cart) == {PRODUCT_ID: 3}
    assert cart["subtotal"] == "37.50"
    assert await snapshot(sources, ALICE) == ({PRODUCT_ID: 3}, 5)
    # Removing what the cart does not hold changes nothing (not even the snapshot's version).
    cart = (await gql(client, REMOVE, {"p": str(OTHER_ID), "q": 4}, user=ALICE))["data"]["removeFromCart"]
    assert lines(cart) == {PRODUCT_ID: 3}
    assert await snapshot(sources, ALICE) == ({PRODUCT_ID: 3}, 5)
    # More than there are: the line goes; the last line gone, the cart (and its snapshot row) are gone.
    cart = (await gql(client, REMOVE, {"p": str(PRODUCT_ID), "q": 7}, user=ALICE))["data"]["removeFromCart"]
    assert cart == {"items": [], "totalQuantity": 0, "subtotal": "0.00"}
    assert await sources.redis.client.exists(user_key(ALICE)) == 0
    assert await snapshot(sources, ALICE) is None
    assert (await gql(client, READ, user=ALICE))["data"]["cart"]["items"] == []


async def test_concurrent_adds_keep_the_snapshot_in_step(
    client: httpx.AsyncClient, sources: Sources, carts: None
) -> None:
    bodies = await asyncio.gather(*(add(client, PRODUCT_ID, 1, user=ALICE) for _ in range(20)))
    assert all("errors" not in b for b in bodies), [b.get("errors") for b in bodies]
    assert sorted(lines(b["data"]["addToCart"])[PRODUCT_ID] for b in bodies) == list(range(1, 21))
    assert await in_redis(sources, user_key(ALICE)) == {PRODUCT_ID: 20}
    assert await snapshot(sources, ALICE) == ({PRODUCT_ID: 20}, 20)


async def test_guest_cart_by_session_header_or_cookie(
    client: httpx.AsyncClient, sources: Sources, settings: Settings, carts: None
) -> None:
    cart = (await add(client, PRODUCT_ID, 2, headers=session(GUEST)))["data"]["addToCart"]
    assert lines(cart) == {PRODUCT_ID: 2}
    cookie = {"Cookie": f"{settings.session_cookie}={GUEST}"}
    cart = (await add(client, OTHER_ID, 1, headers=cookie))["data"]["addToCart"]
    assert lines(cart) == {PRODUCT_ID: 2, OTHER_ID: 1}
    assert lines((await gql(client, READ, headers=session(GUEST)))["data"]["cart"]) == {PRODUCT_ID: 2, OTHER_ID: 1}
    assert await in_redis(sources, guest_key(GUEST)) == {PRODUCT_ID: 2, OTHER_ID: 1}
    assert 0 < await sources.redis.client.ttl(guest_key(GUEST)) <= settings.guest_cart_ttl_s
    # Another session has a cart of its own; a signed-in user's changes go to the user's cart, not the session's.
    assert (await gql(client, READ, headers=session(OTHER_GUEST)))["data"]["cart"]["items"] == []
    await add(client, PRODUCT_ID, 1, user=ALICE, headers=session(GUEST))
    assert await in_redis(sources, guest_key(GUEST)) == {PRODUCT_ID: 2, OTHER_ID: 1}
    assert await in_redis(sources, user_key(ALICE)) == {PRODUCT_ID: 1}
    # Without a (well-formed) session id a guest has no cart.
    for headers in ({}, session("short"), session("not a session id!")):
        body = await add(client, PRODUCT_ID, 1, headers=headers)
        assert codes(body) == ["BAD_USER_INPUT"], body
        assert "X-Session-Id" in body["errors"][0]["message"]
        assert codes(await gql(client, READ, headers=headers)) == ["BAD_USER_INPUT"]


async def test_merge_sums_caps_and_runs_once(client: httpx.AsyncClient, sources: Sources, carts: None) -> None:
    await add(client, PRODUCT_ID, 3, headers=session(GUEST))
    await add(client, OTHER_ID, 999, headers=session(GUEST))
    await add(client, PRODUCT_ID, 2, user=ALICE)
    await add(client, OTHER_ID, 5, user=ALICE)
    merged = await gql(client, MERGE, user=ALICE, headers=session(GUEST))
    assert lines(merged["data"]["mergeGuestCart"]) == {PRODUCT_ID: 5, OTHER_ID: 1000}  # 5 + 999 capped
    assert await sources.redis.client.exists(guest_key(GUEST)) == 0
    assert await snapshot(sources, ALICE) == ({PRODUCT_ID: 5, OTHER_ID: 1000}, 3)
    again = await gql(client, MERGE, user=ALICE, headers=session(GUEST))
    assert lines(again["data"]["mergeGuestCart"]) == {PRODUCT_ID: 5, OTHER_ID: 1000}
    assert await snapshot(sources, ALICE) == ({PRODUCT_ID: 5, OTHER_ID: 1000}, 3)  # nothing merged: no change

    # Who may merge: a guest must sign in (401); a user must send the guest's session id.
    response = await client.post("/graphql", json={"query": MERGE}, headers=session(GUEST))
    assert (response.status_code, codes(response.json())) == (401, ["UNAUTHENTICATED"])
    assert codes(await gql(client, MERGE, user=ALICE)) == ["BAD_USER_INPUT"]


async def test_concurrent_merges_count_the_guest_cart_once(
    client: httpx.AsyncClient, sources: Sources, carts: None
) -> None:
    await add(client, PRODUCT_ID, 4, headers=session(GUEST))
    await add(client, OTHER_ID, 1, headers=session(GUEST))
    await add(client, PRODUCT_ID, 1, user=BOB)
    bodies = await asyncio.gather(*(gql(client, MERGE, user=BOB, headers=session(GUEST)) for _ in range(8)))
    assert all("errors" not in b for b in bodies), [b.get("errors") for b in bodies]
    assert all(lines(b["data"]["mergeGuestCart"]) == {PRODUCT_ID: 5, OTHER_ID: 1} for b in bodies)
    assert await in_redis(sources, user_key(BOB)) == {PRODUCT_ID: 5, OTHER_ID: 1}
    assert await snapshot(sources, BOB) == ({PRODUCT_ID: 5, OTHER_ID: 1}, 2)  # one add, one merge


async def test_checkout_orders_the_cart_then_clears_it(
    client: httpx.AsyncClient, sources: Sources, carts: None
) -> None:
    await add(client, PRODUCT_ID, 3, user=ALICE)
    await add(client, OTHER_ID, 2, user=ALICE)
    body = await gql(client, CHECKOUT, {"k": "cart-checkout-0001"}, user=ALICE)
    order = body["data"]["checkout"]
    assert order["total"] == "62.50"
    assert {int(i["product"]["id"]): i["quantity"] for i in order["items"]} == {PRODUCT_ID: 3, OTHER_ID: 2}
    assert (await stock_of(sources, PRODUCT_ID), await stock_of(sources, OTHER_ID)) == (STOCK - 3, STOCK - 2)
    assert await sources.redis.client.exists(user_key(ALICE)) == 0
    assert await snapshot(sources, ALICE) is None
    assert (await gql(client, READ, user=ALICE))["data"]["cart"] == {
        "items": [],
        "totalQuantity": 0,
        "subtotal": "0.00",
    }

    # The same key again (a retry whose answer was lost) returns the same order; a new key finds an empty cart.
    again = await gql(client, CHECKOUT, {"k": "cart-checkout-0001"}, user=ALICE)
    assert again["data"]["checkout"]["id"] == order["id"]
    empty = await gql(client, CHECKOUT, {"k": "cart-checkout-0002"}, user=ALICE)
    assert codes(empty) == ["BAD_USER_INPUT"]
    assert await orders_with_key(sources, "cart-checkout-0002") == 0
    assert (await stock_of(sources, PRODUCT_ID), await stock_of(sources, OTHER_ID)) == (STOCK - 3, STOCK - 2)

    response = await client.post("/graphql", json={"query": CHECKOUT, "variables": {"k": "cart-checkout-0003"}})
    assert (response.status_code, codes(response.json())) == (401, ["UNAUTHENTICATED"])


async def test_checkout_short_of_stock_leaves_the_cart(
    client: httpx.AsyncClient, sources: Sources, carts: None
) -> None:
    await add(client, OTHER_ID, 1, user=ALICE)
    await add(client, PRODUCT_ID, STOCK + 1, user=ALICE)
    body = await gql(client, CHECKOUT, {"k": "cart-short-0001"}, user=ALICE)
    assert codes(body) == ["OUT_OF_STOCK"]
    assert body["errors"][0]["extensions"]["productIds"] == [str(PRODUCT_ID)]
    assert await orders_with_key(sources, "cart-short-0001") == 0
    assert (await stock_of(sources, PRODUCT_ID), await stock_of(sources, OTHER_ID)) == (STOCK, STOCK)
    assert await in_redis(sources, user_key(ALICE)) == {OTHER_ID: 1, PRODUCT_ID: STOCK + 1}
    assert await snapshot(sources, ALICE) == ({OTHER_ID: 1, PRODUCT_ID: STOCK + 1}, 2)
    # Down to what is in stock, the same cart checks out.
    await gql(client, REMOVE, {"p": str(PRODUCT_ID), "q": 1}, user=ALICE)
    assert "errors" not in await gql(client, CHECKOUT, {"k": "cart-short-0002"}, user=ALICE)
    assert await stock_of(sources, PRODUCT_ID) == 0


async def test_concurrent_checkouts_make_one_order(client: httpx.AsyncClient, sources: Sources, carts: None) -> None:
    await add(client, PRODUCT_ID, 2, user=CAROL)
    bodies = await asyncio.gather(*(gql(client, CHECKOUT, {"k": f"cart-race-{i:04d}"}, user=CAROL) for i in range(5)))
    placed = [b for b in bodies if "errors" not in b]
    assert len(placed) == 1, bodies
    assert all(codes(b) in (["CONFLICT"], ["BAD_USER_INPUT"]) for b in bodies if "errors" in b), bodies
    assert await stock_of(sources, PRODUCT_ID) == STOCK - 2
    assert await sources.redis.client.exists(user_key(CAROL), checkout_lock_key(CAROL)) == 0


async def test_flushdb_the_cart_comes_back_from_its_snapshot(
    client: httpx.AsyncClient, sources: Sources, settings: Settings, carts: None
) -> None:
    await add(client, PRODUCT_ID, 2, user=ALICE)
    await add(client, OTHER_ID, 1, user=ALICE)
    await sources.redis.client.flushdb()
    cart = (await gql(client, READ, user=ALICE))["data"]["cart"]
    assert lines(cart) == {PRODUCT_ID: 2, OTHER_ID: 1}
    assert cart["subtotal"] == "37.50"
    assert await in_redis(sources, user_key(ALICE)) == {PRODUCT_ID: 2, OTHER_ID: 1}  # written back
    assert 0 < await sources.redis.client.ttl(user_key(ALICE)) <= settings.cart_ttl_s
    assert lines((await gql(client, USER_CART, {"id": str(ALICE)}, user=ALICE))["data"]["user"]["cart"]) == {
        PRODUCT_ID: 2,
        OTHER_ID: 1,
    }
    # A change after a Redis loss starts from the snapshot, not from an empty cart.
    await sources.redis.client.flushdb()
    cart = (await add(client, PRODUCT_ID, 1, user=ALICE))["data"]["addToCart"]
    assert lines(cart) == {PRODUCT_ID: 3, OTHER_ID: 1}
    assert await snapshot(sources, ALICE) == ({PRODUCT_ID: 3, OTHER_ID: 1}, 3)

    # A snapshot older than the cart TTL has expired with its cart: nothing comes back.
    await sources.redis.client.flushdb()
    async with sources.mysql.engine.begin() as conn:
        await conn.execute(
            update(t.cart_snapshots)
            .where(t.cart_snapshots.c.user_id == ALICE)
            .values(updated_at=now() - timedelta(seconds=settings.cart_ttl_s + 60))
        )
    assert (await gql(client, READ, user=ALICE))["data"]["cart"]["items"] == []
    assert await sources.redis.client.exists(user_key(ALICE)) == 0
    cart = (await add(client, OTHER_ID, 1, user=ALICE))["data"]["addToCart"]
    assert lines(cart) == {OTHER_ID: 1}
    assert await snapshot(sources, ALICE) == ({OTHER_ID: 1}, 4)


async def test_redis_down_reads_the_snapshot_and_refuses_changes(
    client: httpx.AsyncClient, sources: Sources, carts: None
) -> None:
    await add(client, PRODUCT_ID, 2, user=ALICE)
    async with serve(make_test_settings(redis_url="redis://127.0.0.1:9/1", source_timeout_s=1.0)) as down:
        cart = await gql(down, READ, user=ALICE)
        assert "errors" not in cart, cart
        assert lines(cart["data"]["cart"]) == {PRODUCT_ID: 2}
        for body in (
            await add(down, PRODUCT_ID, 1, user=ALICE),
            await gql(down, REMOVE, {"p": str(PRODUCT_ID)}, user=ALICE),
            await gql(down, MERGE, user=ALICE, headers=session(GUEST)),
            await gql(down, CHECKOUT, {"k": "cart-redis-down-1"}, user=ALICE),
            await gql(down, READ, headers=session(GUEST)),
        ):
            assert codes(body) == ["SOURCE_UNAVAILABLE"], body
            assert body["errors"][0]["extensions"]["source"] == "redis"
    assert await snapshot(sources, ALICE) == ({PRODUCT_ID: 2}, 1)
    assert await in_redis(sources, user_key(ALICE)) == {PRODUCT_ID: 2}
    assert await orders_with_key(sources, "cart-redis-down-1") == 0


async def test_at_most_max_order_lines_products(client: httpx.AsyncClient, sources: Sources, carts: None) -> None:
    async with serve(make_test_settings(max_order_lines=1)) as small:
        await add(small, PRODUCT_ID, 1, user=ALICE)
        body = await add(small, OTHER_ID, 1, user=ALICE)
        assert codes(body) == ["BAD_USER_INPUT"]
        await add(small, OTHER_ID, 1, headers=session(GUEST))
        assert codes(await gql(small, MERGE, user=ALICE, headers=session(GUEST))) == ["BAD_USER_INPUT"]
    assert await in_redis(sources, user_key(ALICE)) == {PRODUCT_ID: 1}
    assert await in_redis(sources, guest_key(GUEST)) == {OTHER_ID: 1}  # a refused merge keeps the guest cart
    assert await snapshot(sources, ALICE) == ({PRODUCT_ID: 1}, 1)


async def test_who_may_read_a_users_cart(client: httpx.AsyncClient, carts: None) -> None:
    await add(client, PRODUCT_ID, 2, user=BOB)
    other = await gql(client, USER_CART, {"id": str(BOB)}, user=ALICE)
    assert other["data"]["user"] == {"id": str(BOB), "cart": None}
    assert codes(other) == ["FORBIDDEN"]
    admin = await gql(client, USER_CART, {"id": str(BOB)}, admin=True)
    assert lines(admin["data"]["user"]["cart"]) == {PRODUCT_ID: 2}
    response = await client.post("/graphql", json={"query": USER_CART, "variables": {"id": str(BOB)}})
    assert (response.status_code, codes(response.json())) == (401, ["UNAUTHENTICATED"])


@pytest.mark.parametrize(
    ("product_id", "quantity", "code"),
    [
        (PRODUCT_ID, 0, "BAD_USER_INPUT"),
        (PRODUCT_ID, -1, "BAD_USER_INPUT"),
        (PRODUCT_ID, 1001, "BAD_USER_INPUT"),
        (999_999_999, 1, "NOT_FOUND"),
        ("abc", 1, "BAD_USER_INPUT"),
        ("1; DROP TABLE cart_snapshots", 1, "BAD_USER_INPUT"),
        ("-5", 1, "BAD_USER_INPUT"),
    ],
)
async def test_invalid_input_writes_nothing(
    client: httpx.AsyncClient, sources: Sources, carts: None, product_id: object, quantity: int, code: str
) -> None:
    for who in ({"user": ALICE}, {"headers": session(GUEST)}):
        body = await add(client, product_id, quantity, **who)
        assert body["data"] is None
        assert codes(body) == [code], body
    assert await sources.redis.client.exists(user_key(ALICE), guest_key(GUEST)) == 0
    assert await snapshot(sources, ALICE) is None


async def test_over_the_cap_and_bad_removals_change_nothing(
    client: httpx.AsyncClient, sources: Sources, carts: None
) -> None:
    await add(client, PRODUCT_ID, 600, user=ALICE)
    assert codes(await add(client, PRODUCT_ID, 401, user=ALICE)) == ["BAD_USER_INPUT"]  # 1001 in all
    for variables in ({"p": str(PRODUCT_ID), "q": 0}, {"p": str(PRODUCT_ID), "q": -2}, {"p": "x", "q": 1}):
        assert codes(await gql(client, REMOVE, variables, user=ALICE)) == ["BAD_USER_INPUT"]
    assert await in_redis(sources, user_key(ALICE)) == {PRODUCT_ID: 600}
    assert await snapshot(sources, ALICE) == ({PRODUCT_ID: 600}, 1)
    cart = (await add(client, PRODUCT_ID, 400, user=ALICE))["data"]["addToCart"]
    assert lines(cart) == {PRODUCT_ID: 1000}
