"""MovieLens-100K seeded into every store: counts, idempotency, shared-key checks, and reconcile's drift."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest_asyncio
from sqlalchemy import delete, func, select

from gateway.config import Settings
from gateway.jobs.datasets.rows import (
    AttributeSpec,
    Dataset,
    Order,
    OrderItem,
    Product,
    ProductDocument,
    User,
    UserProfileDocument,
)
from gateway.jobs.reconcile import check
from gateway.jobs.seeding import Seeder, SeedReport
from gateway.stores import Sources
from gateway.stores.mongo import bulk as mongo_bulk
from gateway.stores.mongo.schema import PRODUCT_ATTRIBUTES, PRODUCT_METRICS, USER_PROFILES
from gateway.stores.mysql import tables as t
from gateway.stores.neo4j import bulk as neo4j_bulk


async def _count(sources: Sources, table: t.Table) -> int:
    async with sources.mysql.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


async def test_counts_match_the_dataset(sources: Sources, seeded: SeedReport, movielens_dataset: Dataset) -> None:
    assert seeded.problems == []
    assert await _count(sources, t.users) == 943
    assert await _count(sources, t.products) == 1682
    assert await _count(sources, t.ratings) == 100_000
    assert await _count(sources, t.order_items) == 100_000  # every rating is one purchased line
    assert await _count(sources, t.orders) == len(movielens_dataset.orders) == 21_184
    assert len(await mongo_bulk.id_set(sources.mongodb, USER_PROFILES)) == 943
    assert len(await neo4j_bulk.key_set(sources.neo4j, "RATED")) == 100_000


async def test_a_second_seed_writes_nothing(sources: Sources, seeded: SeedReport, movielens_dataset: Dataset) -> None:
    again = await Seeder(sources, progress=False).seed(movielens_dataset)
    assert again.writes == 0, again.table()
    assert again.warmed == []  # the graph did not change: nothing to plan again
    assert {x.target for x in again.tallies} >= {"orders", "ratings", "product_attributes", "RATED", "PURCHASED"}
    assert sum(x.rows for x in again.tallies) == sum(x.rows for x in seeded.tallies)


async def test_reconcile_finds_no_drift_after_seeding(sources: Sources, seeded: SeedReport) -> None:
    report = await check(sources)
    assert not report.drift, report.text()
    assert report.by_name("ratings → neo4j:RATED").source_count == 100_000


async def test_reconcile_finds_exactly_the_drift_a_test_creates(
    sources: Sources, seeded: SeedReport, movielens_dataset: Dataset
) -> None:
    user_id, product_id = 17, 42
    rated = {(r.user_id, r.product_id) for r in movielens_dataset.ratings if r.user_id == user_id}
    bought = {(o.id, i.product_id) for o in movielens_dataset.orders if o.user_id == user_id for i in o.items}
    await neo4j_bulk.run(sources.neo4j, "MATCH (u:User {id: $id}) DETACH DELETE u", id=user_id)
    assert await mongo_bulk.delete_ids(sources.mongodb, PRODUCT_ATTRIBUTES, [product_id]) == 1
    try:
        report = await check(sources)
        drifted = {c.name: (c.missing, c.extra) for c in report.comparisons if c.drift}
        assert drifted == {
            "users → neo4j:User": ({user_id}, set()),
            "ratings → neo4j:RATED": (rated, set()),
            "order_items → neo4j:PURCHASED": (bought, set()),
            "products → mongodb:product_attributes": ({product_id}, set()),
        }
    finally:
        repaired = await Seeder(sources, progress=False).seed(movielens_dataset)
    # Seeding again writes back exactly what was removed, and nothing else.
    assert repaired.writes == 1 + 1 + len(rated) + len(bought)
    assert not (await check(sources)).drift


@pytest_asyncio.fixture
async def strangers(sources: Sources, seeded: SeedReport) -> AsyncIterator[Dataset]:
    """A product whose document is invalid, and a profile of a user MySQL has never heard of."""
    when = datetime(2020, 1, 1, tzinfo=UTC)
    product = Product(900_001, "BAD-1", "Bad document", 100, "USD", 2020, when, (2,), 1)
    dataset = Dataset(
        name="strangers",
        products=[product],
        registry=[AttributeSpec(2, "release_year", "int")],
        product_documents=[ProductDocument(900_001, {"release_year": "nineteen ninety"})],
        profiles=[UserProfileDocument(900_002, {"genres": ["Drama"]}, {"ratings": 1})],
    )
    yield dataset
    async with sources.mysql.engine.begin() as conn:
        await conn.execute(delete(t.product_categories).where(t.product_categories.c.product_id == 900_001))
        await conn.execute(delete(t.inventory).where(t.inventory.c.product_id == 900_001))
        await conn.execute(delete(t.products).where(t.products.c.id == 900_001))
    await neo4j_bulk.run(sources.neo4j, "MATCH (p:Product {id: 900001}) DETACH DELETE p")
    await mongo_bulk.delete_ids(sources.mongodb, "product_metrics", [900_001])


async def test_invalid_documents_and_unknown_keys_are_refused(sources: Sources, strangers: Dataset) -> None:
    report = await Seeder(sources, progress=False).seed(strangers)
    reasons = [p.reason for p in report.problems]
    assert any("900001" in r and "'release_year' must be int" in r for r in reasons), reasons
    assert any("user 900002 is not in MySQL" in r for r in reasons), reasons
    assert await mongo_bulk.find_by_ids(sources.mongodb, PRODUCT_ATTRIBUTES, [900_001]) == []
    assert await mongo_bulk.find_by_ids(sources.mongodb, USER_PROFILES, [900_002]) == []
    assert 900_002 not in await neo4j_bulk.key_set(sources.neo4j, "User")


async def test_a_user_row_for_mongo_only_is_never_written_anywhere(sources: Sources, seeded: SeedReport) -> None:
    ghost = User(900_003, "ghost@example.test", "Ghost", None, None, None, None, datetime(2020, 1, 1, tzinfo=UTC))
    # Only Neo4j rows, no MySQL user: the User node must be refused.
    dataset = Dataset(name="ghost", profiles=[UserProfileDocument(ghost.id, {}, {})])
    report = await Seeder(sources, progress=False).seed(dataset)
    assert report.writes == 0
    assert [p.reason for p in report.problems] == ["user 900003 is not in MySQL"]


@pytest_asyncio.fixture
async def cancelled(sources: Sources, seeded: SeedReport) -> AsyncIterator[Dataset]:
    """A buyer with a paid order (2 units) and a cancelled one (5 units) of a product of their own."""
    when = datetime(2021, 3, 1, tzinfo=UTC)
    buyer = User(900_010, "buyer@example.test", "Buyer", None, None, None, None, when)
    product = Product(900_011, "CAN-1", "Cancelled twice over", 500, "USD", 2021, when, (2,), 10)
    orders = [
        Order(900_020, buyer.id, "paid", "seed-paid", when, (OrderItem(product.id, 2, 500),)),
        Order(900_021, buyer.id, "cancelled", "seed-cancelled", when, (OrderItem(product.id, 5, 500),)),
    ]
    yield Dataset(name="cancelled", users=[buyer], products=[product], orders=orders)
    async with sources.mysql.engine.begin() as conn:
        await conn.execute(delete(t.order_items).where(t.order_items.c.order_id.in_([900_020, 900_021])))
        await conn.execute(delete(t.orders).where(t.orders.c.id.in_([900_020, 900_021])))
        await conn.execute(delete(t.product_categories).where(t.product_categories.c.product_id == product.id))
        await conn.execute(delete(t.inventory).where(t.inventory.c.product_id == product.id))
        await conn.execute(delete(t.products).where(t.products.c.id == product.id))
        await conn.execute(delete(t.users).where(t.users.c.id == buyer.id))
    await neo4j_bulk.run(sources.neo4j, "MATCH (n) WHERE n.id IN [900010, 900011] DETACH DELETE n")
    await mongo_bulk.delete_ids(sources.mongodb, PRODUCT_METRICS, [product.id])


async def test_a_cancelled_order_gets_no_purchased_edge_and_no_units(sources: Sources, cancelled: Dataset) -> None:
    report = await Seeder(sources, progress=False).seed(cancelled)
    assert report.problems == []
    warmed = {operation for operation, _ in report.warmed}  # edges were written: the graph's reads ran once
    assert {"recommendations_graph", "similar_users", "bought_together", "popular_products"} <= warmed
    async with sources.mysql.engine.connect() as conn:
        lines = select(t.order_items.c.order_id).where(t.order_items.c.product_id == 900_011)
        assert sorted((await conn.execute(lines)).scalars()) == [900_020, 900_021]  # MySQL keeps both orders' lines
    purchased = await neo4j_bulk.key_set(sources.neo4j, "PURCHASED")
    assert (900_020, 900_011) in purchased
    assert (900_021, 900_011) not in purchased
    (metrics,) = await mongo_bulk.find_by_ids(sources.mongodb, PRODUCT_METRICS, [900_011])
    assert metrics["popularity"] == 2
    edges = (await check(sources)).by_name("order_items → neo4j:PURCHASED")
    assert not edges.drift, (edges.missing, edges.extra)


def run_gateway(settings: Settings, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "GATEWAY_MYSQL_URL": settings.mysql_url,
        "GATEWAY_MONGO_DATABASE": settings.mongo_database,
        **extra,
    }
    gateway = str(Path(sys.executable).with_name("gateway"))
    return subprocess.run([gateway, *args], capture_output=True, text=True, env=env, timeout=300, check=False)


async def test_the_run_commands_seed_step_skips_a_seeded_database(settings: Settings, seeded: SeedReport) -> None:
    done = await asyncio.to_thread(
        run_gateway, settings, "seed", "--dataset", "movielens-100k", "--if-empty", "--quiet"
    )
    assert done.returncode == 0, done.stderr
    assert "every store already holds data, not seeding" in done.stdout


async def test_reconcile_command_exits_0_without_drift(settings: Settings, seeded: SeedReport) -> None:
    done = await asyncio.to_thread(run_gateway, settings, "reconcile", "--check")
    assert done.returncode == 0, done.stdout
    assert "no drift" in done.stdout
    assert "ratings → neo4j:RATED" in done.stdout


async def test_batch_commands_bound_store_calls_by_the_batch_timeout(settings: Settings, seeded: SeedReport) -> None:
    """A request's bound far too short for any store call: reconcile still reads every store, under the batch bound
    (and fails when that bound is the short one, so the bound is what decides)."""
    short = {"GATEWAY_SOURCE_TIMEOUT_S": "0.000001"}
    done = await asyncio.to_thread(run_gateway, settings, "reconcile", "--check", **short)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no drift" in done.stdout
    failed = await asyncio.to_thread(
        run_gateway, settings, "reconcile", "--check", **short, GATEWAY_BATCH_TIMEOUT_S="0.000001"
    )
    assert failed.returncode != 0
    assert "no drift" not in failed.stdout
