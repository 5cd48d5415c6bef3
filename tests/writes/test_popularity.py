"""Units sold and orders kept on the Product nodes (gateway/stores/neo4j/popularity.py): equal to what the product's
PURCHASED edges sum to after an order, its cancellation and a migration that finds them missing; the popular
products are read from them. deleteUser and repair keep them too (test_delete_user.py, test_reconcile_repair.py)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import httpx

from gateway.jobs.migrate import ensure_document_and_graph_schema
from gateway.jobs.relay import Relay
from gateway.jobs.seeding import SeedReport
from gateway.stores import Sources
from gateway.stores.neo4j import bulk as neo4j_bulk
from gateway.stores.neo4j import popularity
from gateway.stores.neo4j import reads as neo4j_reads
from tests.conftest import gql
from tests.writes.conftest import OTHER_ID, PRODUCT_ID
from tests.writes.test_catalog import graph
from tests.writes.test_orders import line, order
from tests.writes.test_relay import FAST

KEPT_AND_SUMMED = """
UNWIND $ids AS pid
MATCH (p:Product {id: pid})
OPTIONAL MATCH (p)<-[e:PURCHASED]-(:User)
RETURN p.id AS id, [p.units, p.orders] AS kept, [coalesce(sum(e.qty), 0), count(e)] AS summed
ORDER BY id
"""


async def counters(sources: Sources, product_ids: Sequence[int]) -> dict[int, tuple[Any, Any]]:
    """Per product: the counters on its node, and what its edges sum to (they must be equal)."""
    rows = await graph(sources, KEPT_AND_SUMMED, ids=list(product_ids))
    assert len(rows) == len(set(product_ids)), rows
    return {row["id"]: (row["kept"], row["summed"]) for row in rows}


async def assert_counters_match_edges(sources: Sources, product_ids: Sequence[int]) -> None:
    for product_id, (kept, summed) in (await counters(sources, product_ids)).items():
        assert kept == summed, f"product {product_id}: kept {kept}, its edges sum to {summed}"


async def test_an_order_and_its_cancellation_move_the_counters_and_the_popular_list(
    client: httpx.AsyncClient, sources: Sources, stocked: list[int]
) -> None:
    assert await counters(sources, stocked) == {pid: ([0, 0], [0, 0]) for pid in stocked}  # seeded, nothing sold
    placed = await order(client, 11, f"popular-{time.time_ns()}", [line(PRODUCT_ID, 3), line(OTHER_ID, 1)])
    assert "errors" not in placed, placed
    await Relay(sources, FAST).drain()
    assert await counters(sources, stocked) == {PRODUCT_ID: ([3, 1], [3, 1]), OTHER_ID: ([1, 1], [1, 1])}

    cancel = "mutation ($id: ID!) { cancelOrder(id: $id) { status } }"
    cancelled = await gql(client, cancel, {"id": placed["data"]["createOrder"]["id"]}, user=11)
    assert cancelled["data"]["cancelOrder"]["status"] == "CANCELLED"
    await Relay(sources, FAST).drain()
    assert await counters(sources, stocked) == {pid: ([0, 0], [0, 0]) for pid in stocked}


async def test_the_popular_products_are_read_from_the_counters(sources: Sources, seeded: SeedReport) -> None:
    """Units raised on one product's node (and no edge added) put it first: the list reads the counters."""
    (top,) = await graph(sources, "MATCH (p:Product) RETURN max(p.units) AS units")
    (probe,) = await graph(sources, "MATCH (p:Product) WHERE p.units > 0 RETURN p.id AS id ORDER BY id DESC LIMIT 1")
    raised = top["units"] + 1
    try:
        await neo4j_bulk.run(sources.neo4j, "MATCH (p:Product {id: $id}) SET p.units = $u", id=probe["id"], u=raised)
        first, *_ = await neo4j_reads.popular_products(sources.neo4j, limit=3)
        assert (first.id, first.score) == (probe["id"], raised)
    finally:
        assert await popularity.refresh(sources.neo4j, [probe["id"]]) == 1
    await assert_counters_match_edges(sources, [probe["id"]])
    first, *_ = await neo4j_reads.popular_products(sources.neo4j, limit=3)
    assert first.id != probe["id"] or first.score < raised


async def test_migrate_fills_counters_a_graph_seeded_before_them_lacks(sources: Sources, seeded: SeedReport) -> None:
    rows = await graph(sources, "MATCH (p:Product) WHERE p.units > 0 RETURN p.id AS id ORDER BY id LIMIT 5")
    ids = [row["id"] for row in rows]
    assert len(ids) == 5
    await neo4j_bulk.run(sources.neo4j, "MATCH (p:Product) WHERE p.id IN $ids REMOVE p.units, p.orders", ids=ids)
    assert {kept[0] for kept, _ in (await counters(sources, ids)).values()} == {None}
    created = await ensure_document_and_graph_schema(sources)
    assert "Product.units and Product.orders of 5 products" in created
    await assert_counters_match_edges(sources, ids)
