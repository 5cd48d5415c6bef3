"""Graph reads for the read path: similar users, bought together, popular products (recommendations, by
strategy: recommendations.py).

Each function is ONE Cypher query (``UNWIND $ids``) on its own session, fetching every record in one pull.
"Interacted" means PURCHASED or RATED (one user-product pair counts once however many orders hold it).

Similar users: the ``NEIGHBOURS`` users who share the most products with you, most first, ties to the lower id;
their products, scored by the sum of the overlaps of the neighbours who have them divided by the number of your
products, are the ``similar_users`` recommendation strategy (``RECOMMENDATIONS``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, LiteralString

from neo4j import READ_ACCESS

from gateway.domain.records import Scored
from gateway.stores.guard import guarded
from gateway.stores.neo4j.client import DRIVER_ERRORS, Neo4jSource

NEIGHBOURS = 50
# At most this many other users per product are read (any FANOUT the store finds first): a product bought by
# millions costs what one bought by a thousand. MovieLens-100K's most rated film has 583 raters, so nothing there
# changes; at 1M synthetic orders the default recommendations went from about 500 ms to about 100 ms (BENCHMARKS.md).
FANOUT = 1000

# Per user: the products they interacted with (mine) and every other user with how many of those they share.
NEIGHBOURS_OF: LiteralString = """
UNWIND $ids AS uid
MATCH (u:User {id: uid})
CALL (u) {
  MATCH (u)-[:PURCHASED|RATED]->(p:Product)
  WITH u, collect(DISTINCT p) AS mine
  UNWIND mine AS p
  CALL (u, p) {
    MATCH (p)<-[:PURCHASED|RATED]-(other:User) WHERE other <> u
    WITH DISTINCT other LIMIT $fanout
    RETURN other
  }
  WITH mine, other, count(DISTINCT p) AS shared
"""

RECOMMENDATIONS: LiteralString = (
    NEIGHBOURS_OF
    + """  ORDER BY shared DESC, other.id LIMIT $neighbours
  MATCH (other)-[:PURCHASED|RATED]->(rec:Product)
  WITH DISTINCT mine, other, shared, rec
  WITH mine, rec, sum(shared) AS overlap, count(other) AS people
  WHERE NOT rec IN mine
  WITH rec, toFloat(overlap) / size(mine) AS score, people
  ORDER BY score DESC, rec.id LIMIT $limit
  RETURN collect({id: rec.id, score: score, people: people}) AS items
}
RETURN uid AS key, items
"""
)

BOUGHT_TOGETHER: LiteralString = """
UNWIND $ids AS pid
MATCH (p:Product {id: pid})
CALL (p) {
  CALL (p) {
    MATCH (p)<-[a:PURCHASED]-(buyer:User)
    RETURN a, buyer LIMIT $fanout
  }
  WITH p, buyer, collect(a.order_id) AS order_ids
  MATCH (buyer)-[b:PURCHASED]->(other:Product)
  WHERE b.order_id IN order_ids AND other <> p
  WITH other, count(DISTINCT b.order_id) AS orders
  ORDER BY orders DESC, other.id LIMIT $limit
  RETURN collect({id: other.id, score: orders}) AS items
}
RETURN pid AS key, items
"""

SIMILAR_USERS: LiteralString = (
    NEIGHBOURS_OF
    + """  ORDER BY shared DESC, other.id LIMIT $limit
  RETURN collect({id: other.id, score: toFloat(shared) / size(mine), shared: shared}) AS items
}
RETURN uid AS key, items
"""
)


def in_category(node: LiteralString) -> LiteralString:
    """A condition on ``node`` (a Product): it is in the category ``$category`` or one of its subcategories."""
    return "EXISTS { (" + node + ")-[:IN_CATEGORY]->(:Category)-[:SUBCATEGORY_OF*0..]->(:Category {id: $category}) }"


# The best sellers, from the counters kept on the product nodes (popularity.py); in a category, or not.
_SOLD: LiteralString = "\nMATCH (p:Product) WHERE p.units > 0"
_BY_UNITS: LiteralString = """
WITH p ORDER BY p.units DESC, p.id LIMIT $limit
RETURN p.id AS id, p.units AS units, p.orders AS orders
"""
POPULAR: LiteralString = _SOLD + _BY_UNITS
POPULAR_IN_CATEGORY: LiteralString = _SOLD + " AND " + in_category("p") + _BY_UNITS


async def records(
    source: Neo4jSource, operation: str, keys: Sequence[Any], cypher: LiteralString, params: dict[str, Any]
) -> list[dict[str, Any]]:
    async def run() -> list[dict[str, Any]]:
        async with source.driver.session(
            database=source.database, default_access_mode=READ_ACCESS, fetch_size=-1, bookmark_manager=source.bookmarks
        ) as session:
            result = await session.run(cypher, params)
            return [record.data() async for record in result]

    return await guarded(source, source.timeout, run(), DRIVER_ERRORS, operation=operation, keys=keys)


async def per_key(
    source: Neo4jSource,
    operation: str,
    cypher: LiteralString,
    ids: Sequence[int],
    reason: Callable[[dict[str, Any]], str],
    **params: Any,
) -> list[list[Scored] | None]:
    """Run a per-key query; None for a key whose node is not in the graph (yet)."""
    rows = await records(source, operation, ids, cypher, {"ids": list(ids), "fanout": FANOUT, **params})
    found = {
        row["key"]: [Scored(item["id"], float(item["score"]), reason(item)) for item in row["items"]] for row in rows
    }
    return [found.get(key) for key in ids]


async def bought_together(source: Neo4jSource, product_ids: Sequence[int], *, limit: int) -> list[list[Scored] | None]:
    return await per_key(
        source,
        "bought_together",
        BOUGHT_TOGETHER,
        product_ids,
        lambda i: f"In {i['score']} orders together",
        limit=limit,
    )


async def similar_users(source: Neo4jSource, user_ids: Sequence[int], *, limit: int) -> list[list[Scored] | None]:
    return await per_key(
        source, "similar_users", SIMILAR_USERS, user_ids, lambda i: f"{i['shared']} products in common", limit=limit
    )


def popular_reason(item: dict[str, Any]) -> str:
    return f"Popular: {item['units']} units sold in {item['orders']} orders"


async def popular_products(source: Neo4jSource, *, limit: int, category: int | None = None) -> list[Scored]:
    """The best sellers by units; with a category, those in it or in one of its subcategories."""
    if category is None:
        rows = await records(source, "popular_products", (), POPULAR, {"limit": limit})
    else:
        rows = await records(
            source,
            "popular_products_in_category",
            (category,),
            POPULAR_IN_CATEGORY,
            {"limit": limit, "category": category},
        )
    return [Scored(row["id"], float(row["units"]), popular_reason(row)) for row in rows]
