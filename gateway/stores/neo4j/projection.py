"""What the relay writes to Neo4j for each outbox event: MERGE and idempotent deletes only, so a replay changes
nothing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, LiteralString

from gateway.stores.guard import guarded
from gateway.stores.neo4j.client import DRIVER_ERRORS, Neo4jSource

PURCHASED: LiteralString = """
MERGE (u:User {id: $user_id})
WITH u UNWIND $lines AS line
MERGE (p:Product {id: line[0]})
MERGE (u)-[e:PURCHASED {order_id: $order_id}]->(p)
SET e.qty = line[1], e.at = $at
"""
UNPURCHASED: LiteralString = "MATCH (:User)-[e:PURCHASED {order_id: $order_id}]->(:Product) DELETE e"
RATED: LiteralString = """
MERGE (u:User {id: $user_id}) MERGE (p:Product {id: $product_id})
MERGE (u)-[e:RATED]->(p) SET e.rating = $rating, e.at = $at
"""
USER: LiteralString = "MERGE (:User {id: $user_id})"
PRODUCT: LiteralString = """
MERGE (p:Product {id: $product_id}) SET p.title = $title
WITH p
OPTIONAL MATCH (p)-[old:IN_CATEGORY]->(c:Category) WHERE NOT c.id IN $category_ids
DELETE old
WITH DISTINCT p
UNWIND $category_ids AS category_id
MATCH (c:Category {id: category_id})
MERGE (p)-[:IN_CATEGORY]->(c)
"""
NO_PRODUCT: LiteralString = "MATCH (p:Product {id: $product_id}) DETACH DELETE p"


async def write(
    source: Neo4jSource, timeout: float, operation: str, keys: Sequence[Any], cypher: LiteralString, **params: Any
) -> None:
    async def run() -> None:
        # One auto-commit query, no driver-side retries: when Neo4j is down the relay backs off and tries later.
        async with source.driver.session(database=source.database) as session:
            await (await session.run(cypher, params)).consume()

    await guarded(source, timeout, run(), DRIVER_ERRORS, operation=operation, keys=keys)
