"""createProduct: the MySQL row, categories and stock, the MongoDB attributes document (checked by the registry)
and, through the outbox, the Neo4j node; all or nothing from a client's view, also with MongoDB stopped."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import func, select

from gateway.jobs.relay import Relay
from gateway.jobs.seeding import SeedReport
from gateway.stores import Sources
from gateway.stores.mongo.schema import PRODUCT_ATTRIBUTES
from gateway.stores.mysql import tables as t
from tests.conftest import gql
from tests.services import services
from tests.writes.conftest import remove
from tests.writes.test_catalog import codes, graph
from tests.writes.test_relay import FAST

CREATE = """mutation ($input: CreateProductInput!) {
  createProduct(input: $input) { id title price inventory categories { id } attributes description } }"""


def product_input(sku: str, **changes: Any) -> dict[str, Any]:
    return {
        "sku": sku,
        "title": "A new film",
        "price": "12.50",
        "categoryIds": ["2"],
        "stock": 7,
        "attributes": {"release_year": 2030},
        "description": "Made for the tests",
        **changes,
    }


async def product_ids(sources: Sources, sku: str) -> list[int]:
    async with sources.mysql.engine.connect() as conn:
        return [row[0] for row in await conn.execute(select(t.products.c.id).where(t.products.c.sku == sku))]


@pytest_asyncio.fixture
async def sku(sources: Sources, seeded: SeedReport) -> AsyncIterator[str]:
    """A sku of this test's own; whatever product got it is removed from every store afterwards."""
    name = f"NEW-{time.time_ns()}"
    yield name
    ids = await product_ids(sources, name)
    if ids:
        await remove(sources, ids)


async def test_create_product_reaches_every_store(client: httpx.AsyncClient, sources: Sources, sku: str) -> None:
    body = await gql(client, CREATE, {"input": product_input(sku)}, admin=True)
    assert "errors" not in body, body
    created = body["data"]["createProduct"]
    product_id = int(created["id"])
    assert created == {
        "id": str(product_id),
        "title": "A new film",
        "price": "12.50",
        "inventory": 7,
        "categories": [{"id": "2"}],
        "attributes": {"release_year": 2030},
        "description": "Made for the tests",
    }
    stored = await sources.mongodb.db[PRODUCT_ATTRIBUTES].find_one({"_id": product_id})
    assert stored is not None
    assert stored["attributes"] == {"release_year": 2030}
    again = await gql(client, CREATE, {"input": product_input(sku)}, admin=True)
    assert codes(again) == ["CONFLICT"]
    await Relay(sources, FAST).drain()
    rows = await graph(
        sources, "MATCH (p:Product {id: $id})-[:IN_CATEGORY]->(c) RETURN p.title AS title, c.id AS c", id=product_id
    )
    assert rows == [{"title": "A new film", "c": 2}]


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"attributes": {"colour": "red"}}, "BAD_USER_INPUT"),  # not in the registry of the category
        ({"attributes": {"release_year": "2030"}}, "BAD_USER_INPUT"),  # the wrong type
        ({"categoryIds": ["999999"], "attributes": None}, "NOT_FOUND"),
        ({"categoryIds": []}, "BAD_USER_INPUT"),
        ({"price": "-1.00"}, "BAD_USER_INPUT"),
        ({"stock": -1}, "BAD_USER_INPUT"),
        ({"sku": "has spaces"}, "BAD_USER_INPUT"),
        ({"title": "  "}, "BAD_USER_INPUT"),
    ],
)
async def test_bad_input_writes_nothing(
    client: httpx.AsyncClient, sources: Sources, sku: str, changes: dict[str, Any], code: str
) -> None:
    body = await gql(client, CREATE, {"input": {**product_input(sku), **changes}}, admin=True)
    assert codes(body) == [code], body
    assert body.get("data") is None  # no data, or never executed (a price the Money scalar refuses)
    assert await product_ids(sources, changes.get("sku", sku)) == []


async def test_only_an_admin_creates_products(client: httpx.AsyncClient, sources: Sources, sku: str) -> None:
    assert codes(await gql(client, CREATE, {"input": product_input(sku)}, user=3)) == ["FORBIDDEN"]
    assert await product_ids(sources, sku) == []


@pytest.mark.services
async def test_with_mongodb_stopped_no_half_created_product_is_visible(
    client: httpx.AsyncClient, sources: Sources, sku: str
) -> None:
    """The MySQL transaction commits only after MongoDB took the document: with MongoDB stopped the answer names
    MongoDB, and no store holds any of the product (no row, no stock, no event for Neo4j)."""
    async with sources.mysql.engine.connect() as conn:
        before = int((await conn.execute(select(func.max(t.products.c.id)))).scalar_one() or 0)
        last_event = int((await conn.execute(select(func.max(t.outbox.c.id)))).scalar_one() or 0)
    services("stop", "mongodb")
    try:
        body = await gql(client, CREATE, {"input": product_input(sku)}, admin=True)
        guessed = await gql(client, f'{{ product(id: "{before + 1}") {{ id }} }}')  # the id it would have had
    finally:
        services("start", "mongodb")
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["extensions"]["code"] in {"SOURCE_UNAVAILABLE", "TIMEOUT"}
    assert error["extensions"]["source"] == "mongodb"
    assert error["path"] == ["createProduct"]
    assert codes(guessed) == ["NOT_FOUND"]
    assert await product_ids(sources, sku) == []
    async with sources.mysql.engine.connect() as conn:
        newer = select(func.count()).select_from(t.inventory).where(t.inventory.c.product_id > before)
        assert (await conn.execute(newer)).scalar_one() == 0
        events = select(func.count()).select_from(t.outbox).where(t.outbox.c.id > last_event)
        assert (await conn.execute(events)).scalar_one() == 0
    # Back up, the same input creates the product.
    created = await gql(client, CREATE, {"input": product_input(sku)}, admin=True)
    assert "errors" not in created, created
    assert await product_ids(sources, sku) == [int(created["data"]["createProduct"]["id"])]
