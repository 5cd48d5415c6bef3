"""reconcile --repair against the real stores: drift of several kinds at once is mended from MySQL, the second check
finds none, and what was rebuilt equals MySQL. Neo4j's graph is shared with the demo data, so each test starts
from a graph without drift (it refuses to repair anyone else's) and leaves it exactly as it found it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select

from gateway.config import Settings
from gateway.jobs.datasets.rows import Dataset
from gateway.jobs.reconcile import Comparison, ReconcileReport, check
from gateway.jobs.repair import RepairRefused, refuse_emptying, repair
from gateway.jobs.seeding import Seeder, SeedReport
from gateway.stores import Sources
from gateway.stores.mongo.schema import PRODUCT_ATTRIBUTES, PRODUCT_METRICS, USER_PROFILES
from gateway.stores.mysql import reads as mysql_reads
from gateway.stores.mysql import tables as t
from gateway.stores.neo4j import bulk as neo4j_bulk
from tests.test_seeding import run_gateway
from tests.writes.test_popularity import assert_counters_match_edges

USER_ID = 23  # its node goes, with every RATED and PURCHASED edge it had
RATER_ID = 100  # three of its RATED edges go
BUYER_ID = 200  # three of its PURCHASED edges go
ATTRIBUTES_OF = 50  # its product_attributes document goes
METRICS_OF = 51  # its product_metrics document goes
STRAY_PRODUCT = 990_001  # a Product node (with an IN_CATEGORY edge) MySQL has never heard of
STRAY_PROFILE = 990_002  # a profile of a user MySQL has never heard of
CATEGORY_ID = 2

Edge = tuple[str, bool, Any, tuple[tuple[str, Any], ...]]


async def _records(sources: Sources, cypher: str, **params: Any) -> list[dict[str, Any]]:
    result = await sources.neo4j.driver.execute_query(cypher, params, database_=sources.neo4j.database)
    return [record.data() for record in result.records]


async def edges_of(sources: Sources, label: str, node_id: int) -> list[Edge]:
    """Every edge touching the node, with its direction, the other end's id and its properties."""
    rows = await _records(
        sources,
        f"MATCH (n:{label} {{id: $id}})-[e]-(x) RETURN type(e) AS t, startNode(e) = n AS out, x.id AS other, "
        "properties(e) AS props",
        id=node_id,
    )
    return sorted((r["t"], r["out"], r["other"], tuple(sorted(r["props"].items()))) for r in rows)


async def _mysql(sources: Sources, statement: Any) -> list[tuple[Any, ...]]:
    async with sources.mysql.engine.connect() as conn:
        return [tuple(row) for row in await conn.execute(statement)]


async def ratings_of(sources: Sources, user_id: int) -> dict[int, int]:
    r = t.ratings
    return dict(await _mysql(sources, select(r.c.product_id, r.c.rating).where(r.c.user_id == user_id)))


async def lines_of(sources: Sources, user_id: int) -> set[tuple[int, int]]:
    i, o = t.order_items, t.orders
    statement = (
        select(i.c.order_id, i.c.product_id)
        .join(o, o.c.id == i.c.order_id)
        .where(o.c.user_id == user_id, o.c.status != "cancelled")
    )
    return {(order_id, product_id) for order_id, product_id in await _mysql(sources, statement)}


async def put_back(sources: Sources, dataset: Dataset, documents: dict[tuple[str, int], dict[str, Any] | None]) -> None:
    """Whatever a failed test left behind: strays removed, documents restored, the graph re-seeded if it drifts."""
    await neo4j_bulk.run(sources.neo4j, "MATCH (p:Product) WHERE p.id = $id DETACH DELETE p", id=STRAY_PRODUCT)
    await sources.mongodb.db[USER_PROFILES].delete_many({"_id": {"$in": [STRAY_PROFILE, STRAY_PROFILE + 1]}})
    for (collection, key), doc in documents.items():
        if doc is not None:
            await sources.mongodb.db[collection].replace_one({"_id": key}, doc, upsert=True)
    if (await check(sources)).drift:
        await Seeder(sources, progress=False).seed(dataset)


@pytest_asyncio.fixture
async def undrifted(sources: Sources, seeded: SeedReport) -> AsyncIterator[ReconcileReport]:
    """The stores agree before the test: anything repair then mends is what the test broke."""
    report = await check(sources)
    if report.drift:
        pytest.fail("drift before the test (not repairing data this test did not break):\n" + report.text())
    yield report


async def test_repair_mends_drift_of_every_kind_from_mysql(
    sources: Sources, undrifted: ReconcileReport, movielens_dataset: Dataset
) -> None:
    mongo = sources.mongodb.db
    user_edges = await edges_of(sources, "User", USER_ID)
    rated, bought = await ratings_of(sources, USER_ID), await lines_of(sources, USER_ID)
    assert len(user_edges) == len(rated) + len(bought) > 0
    dropped_ratings = sorted(await ratings_of(sources, RATER_ID))[:3]
    dropped_lines = sorted(await lines_of(sources, BUYER_ID))[:3]
    rater_edges, buyer_edges = await edges_of(sources, "User", RATER_ID), await edges_of(sources, "User", BUYER_ID)
    documents = {
        (PRODUCT_ATTRIBUTES, ATTRIBUTES_OF): await mongo[PRODUCT_ATTRIBUTES].find_one({"_id": ATTRIBUTES_OF}),
        (PRODUCT_METRICS, METRICS_OF): await mongo[PRODUCT_METRICS].find_one({"_id": METRICS_OF}),
    }
    try:
        await neo4j_bulk.run(sources.neo4j, "MATCH (u:User {id: $id}) DETACH DELETE u", id=USER_ID)
        await neo4j_bulk.run(
            sources.neo4j,
            "UNWIND $ids AS p MATCH (:User {id: $u})-[e:RATED]->(:Product {id: p}) DELETE e",
            u=RATER_ID,
            ids=dropped_ratings,
        )
        await neo4j_bulk.run(
            sources.neo4j,
            "UNWIND $keys AS k MATCH (:User)-[e:PURCHASED {order_id: k[0]}]->(:Product {id: k[1]}) DELETE e",
            keys=[list(k) for k in dropped_lines],
        )
        await neo4j_bulk.run(  # and their counters wrong, as a lost write would leave them
            sources.neo4j, "MATCH (p:Product) WHERE p.id IN $ids SET p.units = -1", ids=[p for _, p in dropped_lines]
        )
        await neo4j_bulk.run(
            sources.neo4j,
            "MATCH (c:Category {id: $c}) CREATE (:Product {id: $p, title: 'stray'})-[:IN_CATEGORY]->(c)",
            p=STRAY_PRODUCT,
            c=CATEGORY_ID,
        )
        assert (await mongo[PRODUCT_ATTRIBUTES].delete_one({"_id": ATTRIBUTES_OF})).deleted_count == 1
        assert (await mongo[PRODUCT_METRICS].delete_one({"_id": METRICS_OF})).deleted_count == 1
        await mongo[USER_PROFILES].insert_one({"_id": STRAY_PROFILE, "preferences": {}, "stats": {}})

        # Look first, then mend exactly what was looked at: a key another process adds to the shared graph
        # meanwhile is not deleted.
        before = await check(sources)
        drifted = {c.name: (c.missing, c.extra) for c in before.comparisons if c.drift}
        assert drifted == {
            "users → neo4j:User": ({USER_ID}, set()),
            "ratings → neo4j:RATED": ({(USER_ID, p) for p in rated} | {(RATER_ID, p) for p in dropped_ratings}, set()),
            "order_items → neo4j:PURCHASED": (bought | set(dropped_lines), set()),
            "products → neo4j:Product": (set(), {STRAY_PRODUCT}),
            "product_categories → neo4j:IN_CATEGORY": (set(), {(STRAY_PRODUCT, CATEGORY_ID)}),
            "products → mongodb:product_attributes": ({ATTRIBUTES_OF}, set()),
            "products → mongodb:product_metrics": ({METRICS_OF}, set()),
            "users → mongodb:user_profiles": (set(), {STRAY_PROFILE}),
        }
        report = await repair(sources, before=before)
        assert report.before is before
        assert not report.after.drift, report.text()
        # Each key written or deleted once, nothing else touched.
        writes = {m.name: (m.created, m.deleted) for m in report.mends if m.created or m.deleted}
        assert writes == {name: (len(missing), len(extra)) for name, (missing, extra) in drifted.items()}

        # The graph is back as it was: the user's edges with their properties, and the other users' edges.
        assert await _records(sources, "MATCH (u:User {id: $id}) RETURN properties(u) AS p", id=USER_ID) == [
            {"p": {"id": USER_ID}}
        ]
        assert await edges_of(sources, "User", USER_ID) == user_edges
        assert await edges_of(sources, "User", RATER_ID) == rater_edges
        assert await edges_of(sources, "User", BUYER_ID) == buyer_edges
        # ... which is what MySQL says: the ratings and the order lines of the user.
        back = await edges_of(sources, "User", USER_ID)
        assert {other: dict(props)["rating"] for kind, _, other, props in back if kind == "RATED"} == rated
        assert {(dict(props)["order_id"], other) for kind, _, other, props in back if kind == "PURCHASED"} == bought
        # The products whose purchases went and came back count them again (their nodes' counters, recomputed).
        await assert_counters_match_edges(sources, sorted({p for _, p in bought | set(dropped_lines)}))

        # MongoDB: the metrics recomputed from MySQL, an empty attribute document, no stray profile.
        (avg, count, std, units), *_ = (await mysql_reads.metric_inputs(sources.mysql, [METRICS_OF])).values()
        metrics = await mongo[PRODUCT_METRICS].find_one({"_id": METRICS_OF})
        assert metrics is not None
        assert {k: v for k, v in metrics.items() if k != "updated_at"} == {
            "_id": METRICS_OF,
            "rating_avg": avg,
            "rating_count": count,
            "rating_std": std,
            "popularity": units,
        }
        assert count > 0
        assert await mongo[PRODUCT_ATTRIBUTES].find_one({"_id": ATTRIBUTES_OF}) == {
            "_id": ATTRIBUTES_OF,
            "attributes": {},
            "description": None,
            "tags": [],
            "images": [],
        }
        assert await mongo[USER_PROFILES].find_one({"_id": STRAY_PROFILE}) is None
        assert await _records(sources, "MATCH (p:Product {id: $id}) RETURN p", id=STRAY_PRODUCT) == []
    finally:
        await put_back(sources, movielens_dataset, documents)  # the seeded attributes and metrics documents
    assert not (await check(sources)).drift


async def test_repair_without_drift_writes_nothing(sources: Sources, undrifted: ReconcileReport) -> None:
    report = await repair(sources)
    assert not report.before.drift
    assert not report.after.drift
    assert report.writes == 0
    assert [(m.created, m.deleted) for m in report.mends] == [(0, 0)] * len(report.mends)


def test_repair_refuses_to_empty_a_copy_when_mysql_is_empty() -> None:
    empty = Comparison("users → neo4j:User", 0, 943, frozenset(), frozenset(range(1, 944)), "neo4j", "User")
    fine = Comparison("ratings → neo4j:RATED", 10, 9, frozenset({(1, 2)}), frozenset(), "neo4j", "RATED")
    refuse_emptying(ReconcileReport((fine,)))
    with pytest.raises(RepairRefused, match="users → neo4j:User"):
        refuse_emptying(ReconcileReport((fine, empty)))


async def test_repair_command_prints_both_checks_and_exits_0_once_mended(
    settings: Settings, sources: Sources, undrifted: ReconcileReport, movielens_dataset: Dataset
) -> None:
    product_id = min(await ratings_of(sources, RATER_ID))
    edges = await edges_of(sources, "User", RATER_ID)
    try:
        await neo4j_bulk.run(
            sources.neo4j,
            "MATCH (:User {id: $u})-[e:RATED]->(:Product {id: $p}) DELETE e",
            u=RATER_ID,
            p=product_id,
        )
        await sources.mongodb.db[USER_PROFILES].insert_one({"_id": STRAY_PROFILE + 1, "preferences": {}, "stats": {}})
        drifted = {c.name: (c.missing, c.extra) for c in (await check(sources)).comparisons if c.drift}
        assert drifted == {
            "ratings → neo4j:RATED": ({(RATER_ID, product_id)}, set()),
            "users → mongodb:user_profiles": (set(), {STRAY_PROFILE + 1}),
        }

        done = await asyncio.to_thread(run_gateway, settings, "reconcile", "--repair")

        assert done.returncode == 0, done.stdout + done.stderr
        before, after = done.stdout.split("after repair:")
        assert "ratings → neo4j:RATED" in before
        assert "DRIFT: 1 missing, 0 extra" in before
        assert "DRIFT: 0 missing, 1 extra" in before
        assert "total writes: 2" in before
        assert "DRIFT" not in after
        assert after.strip().endswith("no drift: every store agrees with MySQL")
        assert await edges_of(sources, "User", RATER_ID) == edges
        checked = await asyncio.to_thread(run_gateway, settings, "reconcile", "--check")
        assert checked.returncode == 0, checked.stdout
    finally:
        await put_back(sources, movielens_dataset, {})
