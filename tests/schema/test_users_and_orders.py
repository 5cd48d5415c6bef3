"""Users, their profiles, orders (keyset paged), order lines, and graph answers, each checked against its store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import delete, func, insert, select, union

from gateway.jobs.seeding import SeedReport
from gateway.stores import Sources
from gateway.stores.mysql import tables as t
from tests.conftest import gql

USER = """
query ($id: ID!) { user(id: $id) {
  id email name age gender occupation zipCode createdAt
  profile { favoriteGenres preferences stats }
} }
"""
ORDERS = """
query ($id: ID!, $first: Int!, $after: String) { user(id: $id) { orders(first: $first, after: $after) {
  totalCount
  pageInfo { hasNextPage hasPreviousPage endCursor }
  nodes { id status total createdAt user { id } items { quantity unitPrice lineTotal product { id } } }
} } }
"""


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


async def test_user_and_profile_match_mysql_and_mongodb(
    client: httpx.AsyncClient, sources: Sources, seeded: SeedReport
) -> None:
    body = await gql(client, USER, {"id": "7"}, user=7)
    assert "errors" not in body, body
    user = body["data"]["user"]
    async with sources.mysql.engine.connect() as conn:
        row = (await conn.execute(select(t.users).where(t.users.c.id == 7))).mappings().one()
    profile = await sources.mongodb.db.user_profiles.find_one({"_id": 7})
    assert profile is not None
    assert (user["email"], user["name"], user["age"]) == (row["email"], row["name"], row["age"])
    assert (user["gender"], user["occupation"], user["zipCode"]) == (row["gender"], row["occupation"], row["zip_code"])
    assert datetime.fromisoformat(user["createdAt"]) == row["created_at"].replace(tzinfo=UTC)
    assert user["profile"] == {
        "favoriteGenres": profile["preferences"]["genres"],
        "preferences": profile["preferences"],
        "stats": profile["stats"],
    }


async def test_unknown_user_and_order_are_null_with_not_found(client: httpx.AsyncClient, seeded: SeedReport) -> None:
    body = await gql(client, '{ user(id: "123456789") { id } order(id: "987654321") { id } }', admin=True)
    assert body["data"] == {"user": None, "order": None}
    assert sorted(codes(body)) == ["NOT_FOUND", "NOT_FOUND"]
    assert sorted(e["path"][0] for e in body["errors"]) == ["order", "user"]


async def test_viewer_is_null_for_a_guest(client: httpx.AsyncClient, seeded: SeedReport) -> None:
    body = await gql(client, "{ viewer { id } }")
    assert body == {"data": {"viewer": None}}


async def test_orders_page_through_newest_first_like_mysql(
    client: httpx.AsyncClient, sources: Sources, seeded: SeedReport
) -> None:
    o = t.orders
    async with sources.mysql.engine.connect() as conn:
        rows = (
            (await conn.execute(select(o).where(o.c.user_id == 1).order_by(o.c.created_at.desc(), o.c.id.desc())))
            .mappings()
            .all()
        )
        lines = (
            (
                await conn.execute(
                    select(t.order_items).join(o, o.c.id == t.order_items.c.order_id).where(o.c.user_id == 1)
                )
            )
            .mappings()
            .all()
        )
    by_order: dict[int, list[tuple[int, int, str]]] = {}
    for line in lines:
        price = f"{line['unit_price_cents'] // 100}.{line['unit_price_cents'] % 100:02d}"
        by_order.setdefault(line["order_id"], []).append((line["product_id"], line["quantity"], price))

    seen: list[dict[str, Any]] = []
    after = None
    while True:
        body = await gql(client, ORDERS, {"id": "1", "first": 7, "after": after}, user=1)
        assert "errors" not in body, body
        connection = body["data"]["user"]["orders"]
        assert connection["totalCount"] == len(rows)
        assert connection["pageInfo"]["hasPreviousPage"] is (after is not None)
        seen += connection["nodes"]
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    assert [int(order["id"]) for order in seen] == [row["id"] for row in rows]
    for order, row in zip(seen, rows, strict=True):
        assert order["status"] == row["status"].upper()
        assert order["total"] == f"{row['total_cents'] // 100}.{row['total_cents'] % 100:02d}"
        assert order["user"] == {"id": "1"}
        items = sorted((int(i["product"]["id"]), i["quantity"], i["unitPrice"]) for i in order["items"])
        assert items == sorted(by_order[row["id"]])
        assert all(i["lineTotal"] == i["unitPrice"] for i in order["items"])  # MovieLens lines hold one unit


async def test_orders_page_edges(client: httpx.AsyncClient, seeded: SeedReport) -> None:
    empty = await gql(client, ORDERS, {"id": "1", "first": 0}, user=1)
    assert empty["data"]["user"]["orders"]["nodes"] == []
    assert empty["data"]["user"]["orders"]["pageInfo"]["hasNextPage"] is True
    everything = await gql(client, ORDERS, {"id": "1", "first": 1000}, user=1)
    connection = everything["data"]["user"]["orders"]
    assert len(connection["nodes"]) == connection["totalCount"]
    assert connection["pageInfo"]["hasNextPage"] is False
    beyond = await gql(client, ORDERS, {"id": "1", "first": 5, "after": connection["pageInfo"]["endCursor"]}, user=1)
    assert beyond["data"]["user"]["orders"]["nodes"] == []


@pytest.mark.parametrize("cursor", ["nope", "cHJvZHVjdDoxOmFiYw", "b3JkZXI6eDp5", ""])
async def test_bad_order_cursor_is_bad_user_input(client: httpx.AsyncClient, seeded: SeedReport, cursor: str) -> None:
    body = await gql(client, ORDERS, {"id": "1", "first": 5, "after": cursor}, user=1)
    assert body["data"] == {"user": {"orders": None}}
    assert codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["path"] == ["user", "orders"]


async def test_order_by_id_matches_mysql(client: httpx.AsyncClient, sources: Sources, seeded: SeedReport) -> None:
    async with sources.mysql.engine.connect() as conn:
        row = (await conn.execute(select(t.orders).where(t.orders.c.id == 100))).mappings().one()
        count = (await conn.execute(select(func.count()).where(t.order_items.c.order_id == 100))).scalar_one()
    body = await gql(client, '{ order(id: "100") { id user { id } total items { product { title } } } }', admin=True)
    order = body["data"]["order"]
    assert order["user"]["id"] == str(row["user_id"])
    assert order["total"] == f"{row['total_cents'] // 100}.{row['total_cents'] % 100:02d}"
    assert len(order["items"]) == count
    assert all(item["product"]["title"] for item in order["items"])


async def _interacted(sources: Sources, user_id: int) -> set[int]:
    bought = select(t.order_items.c.product_id).join(t.orders).where(t.orders.c.user_id == user_id)
    rated = select(t.ratings.c.product_id).where(t.ratings.c.user_id == user_id)
    async with sources.mysql.engine.connect() as conn:
        return {row[0] for row in await conn.execute(union(bought, rated))}


async def test_recommendations_are_new_to_the_user_scored_and_explained(
    client: httpx.AsyncClient, sources: Sources, seeded: SeedReport
) -> None:
    query = """{ user(id: "1") { recommendations(limit: 10) { score reason product { id title } } }
                 recommendations(userId: "1", limit: 10) { score product { id } } }"""
    body = await gql(client, query, user=1)
    assert "errors" not in body, body
    recommendations = body["data"]["user"]["recommendations"]
    assert len(recommendations) == 10
    products = {int(r["product"]["id"]) for r in recommendations}
    assert len(products) == 10
    assert not products & await _interacted(sources, 1)
    scores = [r["score"] for r in recommendations]
    assert scores == sorted(scores, reverse=True)
    assert scores[-1] > 0
    assert all("customers whose purchases best match your most recent ones" in r["reason"] for r in recommendations)
    root = body["data"]["recommendations"]
    assert [int(r["product"]["id"]) for r in root] == [int(r["product"]["id"]) for r in recommendations]


async def test_similar_users_share_the_most_products(
    client: httpx.AsyncClient, sources: Sources, seeded: SeedReport
) -> None:
    mine = await _interacted(sources, 1)
    r = t.ratings
    shared = func.count(func.distinct(r.c.product_id)).label("shared")
    statement = (
        select(r.c.user_id, shared)
        .where(r.c.product_id.in_(mine), r.c.user_id != 1)
        .group_by(r.c.user_id)
        .order_by(shared.desc(), r.c.user_id)
        .limit(5)
    )
    async with sources.mysql.engine.connect() as conn:
        expected = [row.user_id for row in await conn.execute(statement)]  # MovieLens: every purchase is rated
    body = await gql(client, '{ user(id: "1") { similarUsers(limit: 5) { id name } } }', user=1)
    assert [int(u["id"]) for u in body["data"]["user"]["similarUsers"]] == expected


async def test_recommendations_for_an_unknown_user_are_not_found(client: httpx.AsyncClient, seeded: SeedReport) -> None:
    body = await gql(client, '{ recommendations(userId: "555555555") { score } }', admin=True)
    assert body["data"] == {"recommendations": None}
    assert codes(body) == ["NOT_FOUND"]


@pytest_asyncio.fixture
async def newcomer(sources: Sources, seeded: SeedReport) -> AsyncIterator[int]:
    """A user MySQL has and the graph does not (yet): what a new customer looks like before the relay runs."""
    user_id = 900_020
    async with sources.mysql.engine.begin() as conn:
        await conn.execute(insert(t.users).values(id=user_id, email="newcomer@example.test", name="Newcomer"))
    yield user_id
    async with sources.mysql.engine.begin() as conn:
        await conn.execute(delete(t.users).where(t.users.c.id == user_id))


async def test_a_user_the_graph_does_not_know_gets_popular_products(client: httpx.AsyncClient, newcomer: int) -> None:
    query = """query ($id: ID!) {
      user(id: $id) { recommendations(limit: 3) { reason product { id } } similarUsers { id } }
      popularProducts(limit: 3) { id }
    }"""
    body = await gql(client, query, {"id": str(newcomer)}, user=newcomer)
    assert "errors" not in body, body
    recommendations = body["data"]["user"]["recommendations"]
    assert [r["product"]["id"] for r in recommendations] == [p["id"] for p in body["data"]["popularProducts"]]
    assert all(r["reason"].startswith("Popular: ") for r in recommendations)
    assert body["data"]["user"]["similarUsers"] == []


@pytest.mark.parametrize("limit", [0, 101, -5])
async def test_graph_limits_out_of_range_are_bad_user_input(
    client: httpx.AsyncClient, seeded: SeedReport, limit: int
) -> None:
    body = await gql(client, f'{{ user(id: "1") {{ recommendations(limit: {limit}) {{ score }} }} }}', user=1)
    assert body["data"] == {"user": {"recommendations": None}}
    assert codes(body) == ["BAD_USER_INPUT"]
