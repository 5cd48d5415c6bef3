"""Where Neo4j holds given (user, product) pairs: every relationship between the two nodes, of any type and
direction. For checks that data was held out of the stores (bench/quality.py); one query."""

from __future__ import annotations

from collections.abc import Sequence
from typing import LiteralString

from gateway.stores.neo4j.client import Neo4jSource
from gateway.stores.neo4j.reads import records

Pair = tuple[int, int]  # (user id, product id)

EDGES: LiteralString = """
UNWIND $pairs AS pair
MATCH (:User {id: pair[0]})-[e]-(:Product {id: pair[1]})
RETURN type(e) AS type, count(e) AS edges
"""


async def pairs_present(source: Neo4jSource, pairs: Sequence[Pair]) -> dict[str, int]:
    """How many relationships join one of ``pairs``, per relationship type (none: an empty dict)."""
    if not pairs:
        return {}
    params = {"pairs": [[int(user), int(product)] for user, product in pairs]}
    rows = await records(source, "pairs_present", pairs, EDGES, params)
    return {row["type"]: int(row["edges"]) for row in rows}
