"""What the relay writes to Neo4j for the outbox events: MERGE and idempotent deletes only, so a replay changes
nothing. A round's orders, cancellations and ratings go in one transaction (``write_round``); users and products,
rare, one statement per event (``write``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, LiteralString

from neo4j import WRITE_ACCESS

from gateway.stores.guard import guarded
from gateway.stores.neo4j import popularity
from gateway.stores.neo4j.client import DRIVER_ERRORS, Neo4jSource

# Every order, cancellation and rating of a relay round at once (rows in outbox order).
PURCHASED: LiteralString = """
UNWIND $orders AS o
MERGE (u:User {id: o.user_id})
WITH u, o UNWIND o.lines AS line
MERGE (p:Product {id: line[0]})
MERGE (u)-[e:PURCHASED {order_id: o.order_id}]->(p)
SET e.qty = line[1], e.at = o.at
"""
UNPURCHASED: LiteralString = """
UNWIND $order_ids AS order_id
MATCH (:User)-[e:PURCHASED {order_id: order_id}]->(p:Product) DELETE e
RETURN DISTINCT p.id AS product_id
"""
RATED: LiteralString = """
UNWIND $ratings AS r
MERGE (u:User {id: r.user_id}) MERGE (p:Product {id: r.product_id})
MERGE (u)-[e:RATED]->(p) SET e.rating = r.rating, e.at = r.at
"""
USER: LiteralString = "MERGE (:User {id: $user_id})"
# The products the user had bought sold less: their counters (popularity.py) are recomputed in the same statement.
NO_USER: LiteralString = (
    """
MATCH (u:User {id: $user_id})
OPTIONAL MATCH (u)-[:PURCHASED]->(p:Product)
WITH u, collect(DISTINCT p.id) AS bought
DETACH DELETE u
WITH bought
UNWIND bought AS pid"""
    + popularity.COUNTERS
)
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


async def write_round(
    source: Neo4jSource,
    timeout: float,
    *,
    orders: Sequence[dict[str, Any]],
    cancelled: Sequence[int],
    ratings: Sequence[dict[str, Any]],
) -> None:
    """A relay round's purchases, cancellations and ratings in ONE transaction, in that order (an order created and
    cancelled in the same round ends without its edges). One transaction per event made Neo4j the relay's bound:
    200 single-edge transactions committed at 50-110 per second on a loaded machine, one UNWIND of them at 750."""
    steps: list[tuple[LiteralString, str, Sequence[Any]]] = [
        (PURCHASED, "orders", orders),
        (UNPURCHASED, "order_ids", cancelled),
        (RATED, "ratings", ratings),
    ]

    async def run() -> None:
        async with (
            source.driver.session(
                database=source.database, default_access_mode=WRITE_ACCESS, bookmark_manager=source.bookmarks
            ) as session,
            await session.begin_transaction() as tx,
        ):
            sold = [line[0] for order in orders for line in order["lines"]]
            for cypher, name, rows in steps:
                if rows:
                    result = await tx.run(cypher, {name: list(rows)})
                    if cypher is UNPURCHASED:
                        sold += [record["product_id"] async for record in result]
                    await result.consume()
            await popularity.refresh_in(tx, sold)  # their units and orders, from their edges
            await tx.commit()

    keys = [o["order_id"] for o in orders] + list(cancelled) + [r["product_id"] for r in ratings]
    await guarded(source, timeout, run(), DRIVER_ERRORS, operation="relay_round", keys=keys)


async def write(
    source: Neo4jSource, timeout: float, operation: str, keys: Sequence[Any], cypher: LiteralString, **params: Any
) -> None:
    async def run() -> None:
        # One auto-commit query, no driver-side retries: when Neo4j is down the relay backs off and tries later.
        async with source.driver.session(
            database=source.database, default_access_mode=WRITE_ACCESS, bookmark_manager=source.bookmarks
        ) as session:
            await (await session.run(cypher, params)).consume()

    await guarded(source, timeout, run(), DRIVER_ERRORS, operation=operation, keys=keys)
