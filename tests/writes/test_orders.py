"""createOrder under contention, idempotency, invalid input (nothing written anywhere), cancel and status."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from gateway.config import Settings
from gateway.stores import Sources
from gateway.stores.mysql import tables as t
from tests.conftest import gql
from tests.writes.conftest import OTHER_ID, PRODUCT_ID, STOCK, relay, stock_of

CREATE = """
mutation ($items: [OrderLineInput!]!, $key: String!) {
  createOrder(input: {items: $items}, idempotencyKey: $key) {
    id status total user { id } items { quantity product { id } }
  }
}
"""


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


async def order(client: httpx.AsyncClient, user: int, key: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    return await gql(client, CREATE, {"items": items, "key": key}, user=user)


def line(product_id: int, quantity: int = 1) -> dict[str, Any]:
    return {"productId": str(product_id), "quantity": quantity}


async def counts(sources: Sources) -> tuple[int, int, int]:
    async with sources.mysql.engine.connect() as conn:
        orders = (await conn.execute(select(func.count()).select_from(t.orders))).scalar_one()
        items = (await conn.execute(select(func.count()).select_from(t.order_items))).scalar_one()
        outbox = (await conn.execute(select(func.count()).select_from(t.outbox))).scalar_one()
    return int(orders), int(items), int(outbox)


async def test_200_concurrent_orders_on_20_units(
    client: httpx.AsyncClient, sources: Sources, stocked: list[int]
) -> None:
    before = await counts(sources)
    bodies = await asyncio.gather(
        *(order(client, user=1 + i % 900, key=f"contention-{i:04d}", items=[line(PRODUCT_ID)]) for i in range(200))
    )
    placed = [b for b in bodies if "errors" not in b]
    refused = [b for b in bodies if "errors" in b]
    assert len(placed) == STOCK
    assert len(refused) == 200 - STOCK
    assert all(codes(b) == ["OUT_OF_STOCK"] for b in refused), {tuple(codes(b)) for b in refused}
    assert all(b["errors"][0]["extensions"]["productIds"] == [str(PRODUCT_ID)] for b in refused)
    assert len({b["data"]["createOrder"]["id"] for b in placed}) == STOCK
    assert await stock_of(sources, PRODUCT_ID) == 0
    after = await counts(sources)
    assert after == (before[0] + STOCK, before[1] + STOCK, before[2] + STOCK)  # one outbox event per order


async def test_an_order_is_all_or_nothing(client: httpx.AsyncClient, sources: Sources, stocked: list[int]) -> None:
    before = await counts(sources)
    body = await order(client, 5, "all-or-nothing-1", [line(OTHER_ID, 3), line(PRODUCT_ID, STOCK + 1)])
    assert codes(body) == ["OUT_OF_STOCK"]
    assert await stock_of(sources, OTHER_ID) == STOCK
    assert await counts(sources) == before
    placed = await order(client, 5, "all-or-nothing-2", [line(OTHER_ID, 3), line(PRODUCT_ID, STOCK)])
    created = placed["data"]["createOrder"]
    assert created["total"] == f"{(3 + STOCK) * 1250 // 100}.{(3 + STOCK) * 1250 % 100:02d}"
    assert created["user"] == {"id": "5"}
    assert (await stock_of(sources, PRODUCT_ID), await stock_of(sources, OTHER_ID)) == (0, STOCK - 3)


async def test_the_same_key_returns_the_same_order_even_concurrently(
    client: httpx.AsyncClient, sources: Sources, stocked: list[int]
) -> None:
    bodies = await asyncio.gather(*(order(client, 7, "same-key-0001", [line(PRODUCT_ID, 2)]) for _ in range(10)))
    assert all("errors" not in b for b in bodies), [b.get("errors") for b in bodies]
    assert len({b["data"]["createOrder"]["id"] for b in bodies}) == 1
    assert await stock_of(sources, PRODUCT_ID) == STOCK - 2
    again = await order(client, 7, "same-key-0001", [line(PRODUCT_ID, 2)])
    assert again["data"]["createOrder"]["id"] == bodies[0]["data"]["createOrder"]["id"]
    other_input = await order(client, 7, "same-key-0001", [line(PRODUCT_ID, 3)])
    assert codes(other_input) == ["CONFLICT"]
    other_user = await order(client, 8, "same-key-0001", [line(PRODUCT_ID, 2)])
    assert codes(other_user) == ["CONFLICT"]
    assert await stock_of(sources, PRODUCT_ID) == STOCK - 2


@pytest.mark.parametrize(
    ("items", "key", "code"),
    [
        ([line(999_999_999)], "invalid-input-01", "NOT_FOUND"),
        ([line(PRODUCT_ID, 0)], "invalid-input-02", "BAD_USER_INPUT"),
        ([line(PRODUCT_ID, -3)], "invalid-input-03", "BAD_USER_INPUT"),
        ([line(PRODUCT_ID, 1001)], "invalid-input-04", "BAD_USER_INPUT"),
        ([line(PRODUCT_ID)] * 51, "invalid-input-05", "BAD_USER_INPUT"),
        ([], "invalid-input-06", "BAD_USER_INPUT"),
        ([{"productId": "1; DROP TABLE orders", "quantity": 1}], "invalid-input-07", "BAD_USER_INPUT"),
        ([line(PRODUCT_ID)], "short", "BAD_USER_INPUT"),
        ([line(PRODUCT_ID), line(999_999_998)], "invalid-input-09", "NOT_FOUND"),
    ],
)
async def test_invalid_input_writes_nothing(
    client: httpx.AsyncClient,
    sources: Sources,
    settings: Settings,
    stocked: list[int],
    items: list[Any],
    key: str,
    code: str,
) -> None:
    before = await counts(sources)
    body = await order(client, 9, key, items)
    assert body["data"] is None
    assert codes(body) == [code], body
    assert await counts(sources) == before
    assert await stock_of(sources, PRODUCT_ID) == STOCK
    assert (await relay(sources, settings).drain()).applied == []  # no event for the other stores either


async def test_a_guest_cannot_order(client: httpx.AsyncClient, stocked: list[int]) -> None:
    response = await client.post(
        "/graphql", json={"query": CREATE, "variables": {"items": [line(PRODUCT_ID)], "key": "guest-order-1"}}
    )
    assert response.status_code == 401
    assert codes(response.json()) == ["UNAUTHENTICATED"]


async def test_cancel_restores_stock_and_status_rules(
    client: httpx.AsyncClient, sources: Sources, stocked: list[int]
) -> None:
    placed = await order(client, 11, "cancel-me-0001", [line(PRODUCT_ID, 4)])
    order_id = placed["data"]["createOrder"]["id"]
    cancel = "mutation ($id: ID!) { cancelOrder(id: $id) { id status } }"
    status = "mutation ($id: ID!, $s: OrderStatus!) { updateOrderStatus(id: $id, status: $s) { status } }"
    assert codes(await gql(client, cancel, {"id": order_id}, user=12)) == ["NOT_FOUND"]  # another user's order
    assert codes(await gql(client, status, {"id": order_id, "s": "PAID"}, user=11)) == ["FORBIDDEN"]
    assert (await gql(client, cancel, {"id": order_id}, user=11))["data"]["cancelOrder"]["status"] == "CANCELLED"
    assert await stock_of(sources, PRODUCT_ID) == STOCK
    assert codes(await gql(client, cancel, {"id": order_id}, user=11)) == ["CONFLICT"]

    shipped = (await order(client, 11, "ship-me-00001", [line(PRODUCT_ID, 1)]))["data"]["createOrder"]["id"]
    for step in ("PAID", "SHIPPED"):
        assert (await gql(client, status, {"id": shipped, "s": step}, admin=True))["data"]["updateOrderStatus"][
            "status"
        ] == step
    assert codes(await gql(client, cancel, {"id": shipped}, user=11)) == ["CONFLICT"]
    assert codes(await gql(client, status, {"id": shipped, "s": "PENDING"}, admin=True)) == ["CONFLICT"]
    assert await stock_of(sources, PRODUCT_ID) == STOCK - 1
