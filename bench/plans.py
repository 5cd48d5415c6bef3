"""What each store does for the pages' queries, asked of the stores themselves: MySQL EXPLAIN, Neo4j PROFILE
(database hits), FerretDB's explain (what it pushes down to SQLite, when the server is FerretDB) and the time of
one ``$in`` find.

The bench imports no driver (ruff TID251): it uses the clients the gateway's sources hold.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Sequence
from typing import Any

from gateway.stores import Sources
from gateway.stores.mongo.schema import PRODUCT_ATTRIBUTES
from gateway.stores.neo4j import reads as graph

# The SQL of gateway/stores/mysql/reads.py's order_pages_by_user (one user, a page of 20 + 1) and items_by_order.
ORDERS_OF_USER = (
    "SELECT * FROM (SELECT o.*, row_number() OVER (PARTITION BY o.user_id ORDER BY o.created_at DESC, o.id DESC) "
    "AS rn FROM orders o WHERE o.user_id IN ({ids})) AS ranked WHERE ranked.rn <= 21 ORDER BY ranked.user_id, "
    "ranked.rn"
)
ITEMS_OF_ORDERS = "SELECT * FROM order_items WHERE order_id IN ({ids}) ORDER BY order_id, product_id"


async def sql(sources: Sources, statement: str) -> list[dict[str, Any]]:
    async with sources.mysql.engine.connect() as conn:
        result = await conn.exec_driver_sql(statement)
        return [dict(row._mapping) for row in result]


async def mysql_explain(sources: Sources, statement: str) -> list[str]:
    """One line per table of MySQL's plan: table, access type, key, estimated rows."""
    rows = await sql(sources, "EXPLAIN " + statement)
    return [f"{r['table']}: {r['type']} on {r['key'] or 'no key'}, ~{r['rows']} rows" for r in rows]


def _hits(plan: dict[str, Any]) -> int:
    own = int(plan.get("dbHits") or plan.get("args", {}).get("DbHits") or 0)
    return own + sum(_hits(child) for child in plan.get("children", []))


async def neo4j_profile(sources: Sources, cypher: str, params: dict[str, Any]) -> int:
    """Total database hits of one run of ``cypher`` (PROFILE)."""
    async with sources.neo4j.driver.session(database=sources.neo4j.database) as session:
        result = await session.run("PROFILE " + cypher, params)  # type: ignore[arg-type]
        _ = [record async for record in result]
        summary = await result.consume()
    return _hits(summary.profile or {})


async def neo4j_heavy(sources: Sources, user_id: int, timeout_s: float = 120.0) -> dict[str, Any]:
    """PROFILE of one heavy user's recommendations: its db hits and time, or what the server answered instead."""
    params = {"ids": [user_id], "limit": 10, "neighbours": graph.NEIGHBOURS, "fanout": graph.FANOUT}
    start = time.perf_counter()
    try:
        hits = await asyncio.wait_for(neo4j_profile(sources, graph.RECOMMENDATIONS, params), timeout_s)
    except Exception as exc:  # the finding is the failure itself: the server's error, kept for the report
        ms = (time.perf_counter() - start) * 1000
        return {"user": user_id, "ms": round(ms), "error": f"{type(exc).__name__}: {str(exc)[:300]}"}
    return {"user": user_id, "ms": round((time.perf_counter() - start) * 1000), "db_hits": hits}


async def neo4j_degrees(sources: Sources, user_ids: Sequence[int]) -> float:
    """Median over ``user_ids`` of the edges one hop past the user's products: what recommendations expand."""
    cypher = (
        "MATCH (u:User {id: $id})-[:PURCHASED|RATED]->(p:Product) WITH DISTINCT p "
        "RETURN sum(COUNT { (p)<-[:PURCHASED|RATED]-(:User) }) AS edges"
    )
    found = []
    async with sources.neo4j.driver.session(database=sources.neo4j.database) as session:
        for user_id in user_ids:
            result = await session.run(cypher, {"id": user_id})
            record = await result.single()
            found.append(int(record["edges"] or 0) if record else 0)
    return statistics.median(found) if found else 0.0


async def mongo_find(sources: Sources, ids: Sequence[int], repeat: int = 5) -> tuple[dict[str, Any], float]:
    """FerretDB's explain of the product-attributes ``$in`` find (what it pushes down to SQLite; empty for a server
    without those fields, or without explain, like mongo-java-server), and the find's median time in ms."""
    query = {"_id": {"$in": list(ids)}}
    db = sources.mongodb.db
    try:
        explained = await db.command({"explain": {"find": PRODUCT_ATTRIBUTES, "filter": query}})
    except Exception:  # CommandNotFound: the bench may not name the driver's errors (TID251)
        explained = {}
    pushed = {k: v for k, v in explained.items() if "pushdown" in k.lower()}
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        await db[PRODUCT_ATTRIBUTES].find(query).to_list()
        times.append((time.perf_counter() - start) * 1000)
    return pushed, statistics.median(times)


async def store_plans(
    sources: Sources, *, users: Sequence[int], products: Sequence[int], orders: Sequence[int]
) -> dict[str, Any]:
    """The figures BENCHMARKS.md explains the growth with, for a few of the bench's own ids."""
    ids = ", ".join(str(int(u)) for u in users[:1])
    plans: dict[str, Any] = {
        "mysql_orders_of_user": await mysql_explain(sources, ORDERS_OF_USER.format(ids=ids)),
        "mysql_items_of_orders": await mysql_explain(
            sources, ITEMS_OF_ORDERS.format(ids=", ".join(str(int(o)) for o in orders[:20]))
        ),
    }
    recs = [
        await neo4j_profile(
            sources,
            graph.RECOMMENDATIONS,
            {"ids": [u], "limit": 10, "neighbours": graph.NEIGHBOURS, "fanout": graph.FANOUT},
        )
        for u in users[:5]
    ]
    together = [
        await neo4j_profile(sources, graph.BOUGHT_TOGETHER, {"ids": [p], "limit": 5, "fanout": graph.FANOUT})
        for p in products[:5]
    ]
    plans["neo4j_recommendations_db_hits"] = statistics.median(recs)
    plans["neo4j_bought_together_db_hits"] = statistics.median(together)
    plans["neo4j_edges_past_user_products"] = await neo4j_degrees(sources, users[:5])
    plans["neo4j_heavy_user_recommendations"] = await neo4j_heavy(sources, 1)
    pushed, ms = await mongo_find(sources, products[:20])
    plans["mongo_in_find_pushdown"] = pushed
    plans["mongo_in_find_20_ms"] = round(ms, 2)
    plans["mongo_product_attributes_docs"] = await sources.mongodb.db[PRODUCT_ATTRIBUTES].count_documents({})
    return plans
