"""Product fields, each compared with what its own store answers to a direct query (MovieLens seeded)."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select

from gateway.jobs.seeding import SeedReport
from gateway.stores import Sources
from gateway.stores.mysql import tables as t
from tests.conftest import gql

PRODUCT = """
query ($id: ID!) { product(id: $id) {
  id sku title price currency releaseYear createdAt
  categories { id name parent { id name } }
  inventory attributes description tags popularity
  rating { average count stddev }
  boughtTogether(limit: 3) { id title }
} }
"""


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


async def _bought_together_from_mysql(sources: Sources, product_id: int, limit: int) -> list[int]:
    """Independent of Neo4j: products sharing most orders with ``product_id``, from order_items."""
    a, b = t.order_items.alias("a"), t.order_items.alias("b")
    orders = func.count(func.distinct(a.c.order_id)).label("orders")
    statement = (
        select(b.c.product_id, orders)
        .join(b, a.c.order_id == b.c.order_id)
        .where(a.c.product_id == product_id, b.c.product_id != product_id)
        .group_by(b.c.product_id)
        .order_by(orders.desc(), b.c.product_id)
        .limit(limit)
    )
    async with sources.mysql.engine.connect() as conn:
        return [row.product_id for row in await conn.execute(statement)]


async def test_each_product_field_matches_its_store(
    client: httpx.AsyncClient, sources: Sources, seeded: SeedReport
) -> None:
    body = await gql(client, PRODUCT, {"id": "50"})
    assert "errors" not in body, body
    product = body["data"]["product"]

    async with sources.mysql.engine.connect() as conn:
        row = (await conn.execute(select(t.products).where(t.products.c.id == 50))).mappings().one()
        categories = (
            await conn.execute(
                select(t.categories.c.id, t.categories.c.name)
                .join(t.product_categories, t.product_categories.c.category_id == t.categories.c.id)
                .where(t.product_categories.c.product_id == 50)
                .order_by(t.categories.c.id)
            )
        ).all()
        stock = (await conn.execute(select(t.inventory.c.quantity).where(t.inventory.c.product_id == 50))).scalar()
    assert product["id"] == "50"
    assert (product["sku"], product["title"], product["releaseYear"]) == (row["sku"], row["title"], 1977)
    assert product["price"] == _money(row["price_cents"])
    assert product["currency"] == row["currency"]
    assert product["createdAt"].startswith(row["created_at"].isoformat()[:19])
    assert [(int(c["id"]), c["name"]) for c in product["categories"]] == [tuple(c) for c in categories]
    assert all(c["parent"]["name"] == "Movies" for c in product["categories"])
    assert product["inventory"] == stock

    document = await sources.mongodb.db.product_attributes.find_one({"_id": 50})
    metrics = await sources.mongodb.db.product_metrics.find_one({"_id": 50})
    assert document is not None
    assert metrics is not None
    assert product["attributes"] == document["attributes"]
    assert product["description"] == document["description"] == "Star Wars (1977)"
    assert product["tags"] == document["tags"]
    assert product["rating"] == {
        "average": metrics["rating_avg"],
        "count": metrics["rating_count"],
        "stddev": metrics["rating_std"],
    }
    assert product["popularity"] == metrics["popularity"]

    together = [int(p["id"]) for p in product["boughtTogether"]]
    assert together == await _bought_together_from_mysql(sources, 50, 3)


async def test_unknown_product_is_null_with_not_found(client: httpx.AsyncClient, seeded: SeedReport) -> None:
    body = await gql(client, PRODUCT, {"id": "999999999"})
    assert body["data"] == {"product": None}
    assert [e["extensions"]["code"] for e in body["errors"]] == ["NOT_FOUND"]
    assert body["errors"][0]["path"] == ["product"]
    assert "999999999" in body["errors"][0]["message"]


async def test_malformed_ids_are_bad_user_input(client: httpx.AsyncClient, seeded: SeedReport) -> None:
    for bad in ["abc", "-1", "0", "1.5", "1; DROP TABLE products", "99999999999999999999", ""]:
        body = await gql(client, "query ($id: ID!) { product(id: $id) { id } }", {"id": bad})
        assert body["data"] == {"product": None}, bad
        assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"], (bad, body)


async def test_popular_products_are_the_best_sellers_in_mysql(
    client: httpx.AsyncClient, sources: Sources, seeded: SeedReport
) -> None:
    body = await gql(client, "{ popularProducts(limit: 5) { id } }")
    units = func.sum(t.order_items.c.quantity).label("units")
    statement = (
        select(t.order_items.c.product_id, units)
        .group_by(t.order_items.c.product_id)
        .order_by(units.desc(), t.order_items.c.product_id)
        .limit(5)
    )
    async with sources.mysql.engine.connect() as conn:
        expected = [row.product_id for row in await conn.execute(statement)]
    assert [int(p["id"]) for p in body["data"]["popularProducts"]] == expected


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]
