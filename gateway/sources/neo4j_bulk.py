"""Batched Neo4j writes (UNWIND $rows ... MERGE, so a rerun creates nothing) and key-set reads."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, LiteralString

from gateway.sources.base import guarded
from gateway.sources.neo4j import DRIVER_ERRORS, Neo4jSource

Row = dict[str, Any]

# Cypher of each seeded shape; `written` counts what MERGE created (0 on a rerun).
MERGE_NODES: dict[str, LiteralString] = {
    "User": "UNWIND $rows AS r MERGE (n:User {id: r.id})",
    "Category": "UNWIND $rows AS r MERGE (n:Category {id: r.id}) ON CREATE SET n.name = r.name",
    "Product": "UNWIND $rows AS r MERGE (n:Product {id: r.id}) ON CREATE SET n.title = r.title",
}
MERGE_EDGES: dict[str, LiteralString] = {
    "SUBCATEGORY_OF": (
        "UNWIND $rows AS r MATCH (c:Category {id: r.id}) MATCH (p:Category {id: r.parent_id}) "
        "MERGE (c)-[:SUBCATEGORY_OF]->(p)"
    ),
    "IN_CATEGORY": (
        "UNWIND $rows AS r MATCH (p:Product {id: r.product_id}) MATCH (c:Category {id: r.category_id}) "
        "MERGE (p)-[:IN_CATEGORY]->(c)"
    ),
    "RATED": (
        "UNWIND $rows AS r MATCH (u:User {id: r.user_id}) MATCH (p:Product {id: r.product_id}) "
        "MERGE (u)-[e:RATED]->(p) ON CREATE SET e.rating = r.rating, e.at = r.at"
    ),
    "PURCHASED": (
        "UNWIND $rows AS r MATCH (u:User {id: r.user_id}) MATCH (p:Product {id: r.product_id}) "
        "MERGE (u)-[e:PURCHASED {order_id: r.order_id}]->(p) ON CREATE SET e.qty = r.qty, e.at = r.at"
    ),
}
# Key of every node or edge of each shape, for reconcile.
KEYS: dict[str, LiteralString] = {
    "User": "MATCH (n:User) RETURN n.id AS k",
    "Product": "MATCH (n:Product) RETURN n.id AS k",
    "Category": "MATCH (n:Category) RETURN n.id AS k",
    "RATED": "MATCH (u:User)-[:RATED]->(p:Product) RETURN [u.id, p.id] AS k",
    "PURCHASED": "MATCH (:User)-[e:PURCHASED]->(p:Product) RETURN [e.order_id, p.id] AS k",
}


async def _write(source: Neo4jSource, cypher: LiteralString, rows: Sequence[Row]) -> int:
    result = await source.driver.execute_query(cypher, {"rows": list(rows)}, database_=source.database)
    counters = result.summary.counters
    return int(counters.nodes_created + counters.relationships_created)


async def merge(source: Neo4jSource, shape: str, rows: Sequence[Row]) -> int:
    """MERGE one chunk of nodes or edges of ``shape``; returns how many nodes/edges were created."""
    if not rows:
        return 0
    cypher = MERGE_NODES.get(shape) or MERGE_EDGES[shape]
    return await guarded(source.name, 120.0, _write(source, cypher, rows), DRIVER_ERRORS)


async def _keys(source: Neo4jSource, cypher: LiteralString) -> set[Any]:
    result = await source.driver.execute_query(cypher, database_=source.database)
    return {tuple(r["k"]) if isinstance(r["k"], list) else r["k"] for r in result.records}


async def key_set(source: Neo4jSource, shape: str) -> set[Any]:
    return await guarded(source.name, 120.0, _keys(source, KEYS[shape]), DRIVER_ERRORS)


async def run(source: Neo4jSource, cypher: LiteralString, **params: Any) -> int:
    """Run one write statement; returns nodes + relationships deleted and created (for repairs and tests)."""

    async def go() -> int:
        result = await source.driver.execute_query(cypher, params, database_=source.database)
        c = result.summary.counters
        return int(c.nodes_created + c.nodes_deleted + c.relationships_created + c.relationships_deleted)

    return await guarded(source.name, 120.0, go(), DRIVER_ERRORS)
