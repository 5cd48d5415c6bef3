"""A product of the write tests' own, in every store, with known stock; removed from every store afterwards.

Neo4j is shared with the demo graph (one database in Community), so whatever these tests write there is
deleted again: the product node with its edges, and the orders, ratings and outbox rows that name it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest_asyncio
from sqlalchemy import delete, select, update

from gateway.config import Settings
from gateway.jobs.datasets.rows import AttributeSpec, Dataset, Product, ProductDocument
from gateway.jobs.relay import Relay
from gateway.jobs.seeding import Seeder, SeedReport
from gateway.stores import Sources
from gateway.stores.mongo import bulk as mongo_bulk
from gateway.stores.mongo.schema import EVENTS, PRODUCT_ATTRIBUTES, PRODUCT_METRICS
from gateway.stores.mysql import tables as t
from gateway.stores.neo4j import bulk as neo4j_bulk

PRODUCT_ID = 900_100
OTHER_ID = 900_101
STOCK = 20


async def remove(sources: Sources, product_ids: list[int]) -> None:
    async with sources.mysql.engine.begin() as conn:
        order_ids = [
            row[0]
            for row in await conn.execute(
                select(t.order_items.c.order_id).where(t.order_items.c.product_id.in_(product_ids))
            )
        ]
        await conn.execute(delete(t.outbox))  # every event of these tests; the seeded data writes none
        await conn.execute(delete(t.order_items).where(t.order_items.c.order_id.in_(order_ids)))
        await conn.execute(delete(t.orders).where(t.orders.c.id.in_(order_ids)))
        await conn.execute(delete(t.ratings).where(t.ratings.c.product_id.in_(product_ids)))
        await conn.execute(delete(t.product_categories).where(t.product_categories.c.product_id.in_(product_ids)))
        await conn.execute(delete(t.inventory).where(t.inventory.c.product_id.in_(product_ids)))
        await conn.execute(delete(t.products).where(t.products.c.id.in_(product_ids)))
    await neo4j_bulk.run(sources.neo4j, "MATCH (p:Product) WHERE p.id IN $ids DETACH DELETE p", ids=product_ids)
    for collection in (PRODUCT_ATTRIBUTES, PRODUCT_METRICS):
        await mongo_bulk.delete_ids(sources.mongodb, collection, product_ids)
    await sources.mongodb.db[EVENTS].delete_many({"product_id": {"$in": product_ids}})


@pytest_asyncio.fixture
async def stocked(sources: Sources, seeded: SeedReport) -> AsyncIterator[list[int]]:
    """Two products (ids PRODUCT_ID, OTHER_ID) with STOCK units each, seeded in every store."""
    ids = [PRODUCT_ID, OTHER_ID]
    await remove(sources, ids)
    when = datetime(2024, 1, 1, tzinfo=UTC)
    dataset = Dataset(
        name="write-tests",
        products=[
            Product(pid, f"WRITE-{pid}", f"Write test {pid}", 1250, "USD", 2024, when, (2,), STOCK) for pid in ids
        ],
        registry=[AttributeSpec(2, "release_year", "int")],
        product_documents=[ProductDocument(pid, {"release_year": 2024}) for pid in ids],
    )
    report = await Seeder(sources, progress=False).seed(dataset)
    assert report.problems == [], report.problems
    async with sources.mysql.engine.begin() as conn:
        await conn.execute(update(t.inventory).where(t.inventory.c.product_id.in_(ids)).values(quantity=STOCK))
    yield ids
    await remove(sources, ids)


async def stock_of(sources: Sources, product_id: int) -> int:
    async with sources.mysql.engine.connect() as conn:
        return int(
            (
                await conn.execute(select(t.inventory.c.quantity).where(t.inventory.c.product_id == product_id))
            ).scalar_one()
        )


def relay(sources: Sources, settings: Settings, name: str = "test-relay") -> Relay:
    return Relay(sources, settings, name=name)
