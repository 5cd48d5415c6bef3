"""Batched Neo4j writes (UNWIND $rows ... MERGE, so a rerun creates nothing) and key-set reads."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, LiteralString

from neo4j import RoutingControl

from gateway.stores.guard import bulk_bound, guarded
from gateway.stores.neo4j.client import DRIVER_ERRORS, Neo4jSource

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
    "IN_CATEGORY": "MATCH (p:Product)-[:IN_CATEGORY]->(c:Category) RETURN [p.id, c.id] AS k",
    "SUBCATEGORY_OF": "MATCH (c:Category)-[:SUBCATEGORY_OF]->(p:Category) RETURN [c.id, p.id] AS k",
}
# Delete the nodes or edges of each shape by the key KEYS returns (for reconcile --repair); edges first, then nodes.
DELETE_NODES: dict[str, LiteralString] = {
    "User": "UNWIND $rows AS k MATCH (n:User {id: k}) DETACH DELETE n",
    "Category": "UNWIND $rows AS k MATCH (n:Category {id: k}) DETACH DELETE n",
    "Product": "UNWIND $rows AS k MATCH (n:Product {id: k}) DETACH DELETE n",
}
DELETE_EDGES: dict[str, LiteralString] = {
    "SUBCATEGORY_OF": (
        "UNWIND $rows AS k MATCH (:Category {id: k[0]})-[e:SUBCATEGORY_OF]->(:Category {id: k[1]}) DELETE e"
    ),
    "IN_CATEGORY": "UNWIND $rows AS k MATCH (:Product {id: k[0]})-[e:IN_CATEGORY]->(:Category {id: k[1]}) DELETE e",
    "RATED": "UNWIND $rows AS k MATCH (:User {id: k[0]})-[e:RATED]->(:Product {id: k[1]}) DELETE e",
    "PURCHASED": "UNWIND $rows AS k MATCH (:User)-[e:PURCHASED {order_id: k[0]}]->(:Product {id: k[1]}) DELETE e",
}


async def _write(source: Neo4jSource, cypher: LiteralString, rows: Sequence[Row]) -> int:
    result = await source.write_query(cypher, {"rows": list(rows)})
    counters = result.summary.counters
    return int(counters.nodes_created + counters.relationships_created)


async def merge(source: Neo4jSource, shape: str, rows: Sequence[Row]) -> int:
    """MERGE one chunk of nodes or edges of ``shape``; returns how many nodes/edges were created."""
    if not rows:
        return 0
    cypher = MERGE_NODES.get(shape) or MERGE_EDGES[shape]
    return await guarded(source, bulk_bound(source, 120.0), _write(source, cypher, rows), DRIVER_ERRORS)


async def _keys(source: Neo4jSource, cypher: LiteralString) -> set[Any]:
    result = await source.driver.execute_query(
        cypher, database_=source.database, routing_=RoutingControl.READ, bookmark_manager_=source.bookmarks
    )
    return {tuple(r["k"]) if isinstance(r["k"], list) else r["k"] for r in result.records}


async def key_set(source: Neo4jSource, shape: str) -> set[Any]:
    return await guarded(source, bulk_bound(source, 120.0), _keys(source, KEYS[shape]), DRIVER_ERRORS)


async def run(source: Neo4jSource, cypher: LiteralString, **params: Any) -> int:
    """Run one write statement; returns nodes + relationships deleted and created (for repairs and tests)."""

    async def go() -> int:
        result = await source.write_query(cypher, params)
        c = result.summary.counters
        return int(c.nodes_created + c.nodes_deleted + c.relationships_created + c.relationships_deleted)

    return await guarded(source, bulk_bound(source, 120.0), go(), DRIVER_ERRORS)


async def delete(source: Neo4jSource, shape: str, keys: Sequence[Any]) -> int:
    """Delete one chunk of nodes (with their edges) or edges of ``shape`` by key; returns how many of that shape
    were deleted (a node's own edges are not counted)."""
    if not keys:
        return 0
    node = shape in DELETE_NODES
    cypher = DELETE_NODES[shape] if node else DELETE_EDGES[shape]
    rows = [list(k) if isinstance(k, tuple) else k for k in keys]

    async def go() -> int:
        result = await source.write_query(cypher, {"rows": rows})
        c = result.summary.counters
        return int(c.nodes_deleted if node else c.relationships_deleted)

    return await guarded(source, bulk_bound(source, 120.0), go(), DRIVER_ERRORS)


SYNC_COUNTS: LiteralString = """
CALL { MATCH (u:User) RETURN count(u) AS users }
CALL { MATCH (p:Product) RETURN count(p) AS products }
CALL { MATCH ()-[r]->() RETURN count(r) AS edges }
RETURN users, products, edges
"""


async def sync_counts(source: Neo4jSource, timeout: float) -> tuple[int, int, int]:
    """User nodes, Product nodes and relationships (every type), in one query (counts come from the store's
    statistics)."""

    async def go() -> tuple[int, int, int]:
        result = await source.driver.execute_query(SYNC_COUNTS, database_=source.database)
        record = result.records[0]
        return int(record["users"]), int(record["products"]), int(record["edges"])

    return await guarded(source, timeout, go(), DRIVER_ERRORS, operation="sync_counts")
