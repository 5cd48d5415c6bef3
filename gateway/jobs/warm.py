"""Warm a store's read path: run the gateway's read queries once, for keys the store holds.

A server's first requests after its start, or after a bulk load, pay for its JVM's first compiles, Neo4j's query
plans and a cold page cache: a user page's first recommendations after a Neo4j start took 5 s here, 6.5 s right
after the demo graph was loaded into an empty one, and 0.3 s the next time. ``scripts/services`` warms Neo4j and
MongoDB once they answer (``gateway warm``), and the seeder warms Neo4j again after it wrote the graph, since a
warm-up on an empty graph plans nothing useful.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable

from gateway.config import SourceName
from gateway.stores import Sources
from gateway.stores.mongo import reads as mongo_reads
from gateway.stores.mongo.schema import PRODUCT_ATTRIBUTES
from gateway.stores.neo4j import reads as neo4j_reads
from gateway.stores.neo4j import recommendations as neo4j_recommendations
from loaders.keys import MAX_TOP as LIMIT  # the lists the loaders ask for: the plans cached are theirs

Timings = list[tuple[str, float]]


async def warm(sources: Sources, name: SourceName) -> Timings:
    """Run ``name``'s read queries (any key when it holds none); each operation with its time in ms."""
    timings: Timings = []

    async def timed(operation: str, call: Awaitable[object]) -> None:
        start = time.perf_counter()
        await call
        timings.append((operation, (time.perf_counter() - start) * 1000))

    if name == "neo4j":
        # On an empty graph (a new checkout) Neo4j warns of every unknown label: nothing to act on here.
        logging.getLogger("neo4j.notifications").setLevel(logging.ERROR)
        rows = await neo4j_reads.records(
            sources.neo4j,
            "warm",
            (),
            "MATCH (u:User)-[:PURCHASED|RATED]->(p:Product) RETURN u.id AS user, p.id AS product LIMIT 20",
            {},
        )
        keys = [(row["user"], row["product"]) for row in rows[::10]] or [(0, 0)]
        for user, product in keys:  # twice when it can: the second pass runs what the first compiled
            for strategy in ("graph", "similar_users", "popular"):
                await timed(
                    f"recommendations_{strategy}",
                    neo4j_recommendations.recommendations(sources.neo4j, [user], limit=LIMIT, strategy=strategy),
                )
            await timed("similar_users", neo4j_reads.similar_users(sources.neo4j, [user], limit=LIMIT))
            await timed("bought_together", neo4j_reads.bought_together(sources.neo4j, [product], limit=LIMIT))
            await timed("popular_products", neo4j_reads.popular_products(sources.neo4j, limit=LIMIT))
    elif name == "mongodb":
        docs = await sources.mongodb.db[PRODUCT_ATTRIBUTES].find({}, {"_id": 1}).limit(20).to_list()
        ids = [doc["_id"] for doc in docs] or [0]
        for _ in range(3):  # the JIT compiles what runs often, not what ran once
            await timed("product_documents", mongo_reads.product_documents(sources.mongodb, ids))
            await timed("metrics", mongo_reads.metrics(sources.mongodb, ids))
            await timed("profiles", mongo_reads.profiles(sources.mongodb, ids))
    return timings
