"""Recommendations from the graph, by strategy: each strategy is ONE Cypher query (``UNWIND $ids``) per batch of
users, answering per user the best ``limit`` products they have not interacted with (PURCHASED or RATED).

- ``graph`` (the default): what the customers whose history best matches your *recent* interactions chose, scored
  like an item-to-item cosine and discounted for popularity. For a user ``u`` (docs/recommendations.md):

  1. u's ``RECENT`` latest products ``j``, latest first (by interaction time, ties to the higher product id), weigh
     ``w_j = 0.5 ^ (rank_j / HALF_LIFE)`` (rank 0 is the latest);
  2. every other user ``v`` who interacted with one of them is ``sim(u, v) = Σ_j w_j / sqrt(deg j) / sqrt(deg v)``
     (a shared product says more the fewer people have it; a user with everything in common says less);
  3. the ``NEIGHBOURS`` most similar users are u's neighbours; every product ``i`` one of them has and u has not
     scores ``Σ_v sim(u, v) / sqrt(deg i)``; ties to the lower product id.

  ``deg`` is a node's PURCHASED and RATED edges. Times are compared as datetimes: seeding writes ``at`` as ISO
  text, the relay as a DateTime, and the two types would otherwise sort apart. With every ``w_j = 1`` and none of
  the divisions this is plain user-based collaborative filtering; without the neighbour cut the sums regroup by
  item into ``Σ_j w_j c(i, j) / sqrt(deg i deg j)``, where ``c(i, j)`` counts the users who have both, each as
  ``1 / sqrt(deg v)``: an item-to-item cosine, weighted by recency, in which heavy users count less. The constants
  were chosen on a validation split of MovieLens-100K (each user's second-to-last interaction), never on the test
  one: bench/quality.py.
- ``similar_users``: the products of the users in ``User.similarUsers`` (most products in common), scored by the
  overlap of the users who have them; long-term taste, no recency (the strategy before ``graph``).
- ``popular``: the best-selling products (units, counted on the product nodes: popularity.py), minus the user's own.

With a category, each strategy keeps only the candidates in that category or one of its subcategories
(``IN_CATEGORY``, then ``SUBCATEGORY_OF`` up to it), before the best ``limit`` are taken: the same query with one
more condition on the candidates (``in_category``).

The user's own products are left out by a list of them collected once per user, not by a pattern per candidate
(NOT EXISTS cost about 75 relationship reads per candidate here: a third of GRAPH's time on MovieLens).

A user the graph does not know is None (the resolver answers the popular products); a user without interactions
gets an empty list.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, LiteralString

from gateway.domain.records import Scored
from gateway.domain.strategies import DEFAULT_STRATEGY, Strategy
from gateway.stores.neo4j.client import Neo4jSource
from gateway.stores.neo4j.reads import NEIGHBOURS, RECOMMENDATIONS, in_category, per_key, popular_reason

RECENT = 20  # the user's latest products that find the neighbours (weights past 20 are below 0.1 %)
HALF_LIFE = 2.0  # in ranks: the 3rd latest product counts half as much as the latest
GRAPH_NEIGHBOURS = 100

GRAPH: LiteralString = """
UNWIND $ids AS uid
MATCH (u:User {id: uid})
CALL (u) {
  MATCH (u)-[e:PURCHASED|RATED]->(p:Product)
  WITH u, p, max(datetime(toString(e.at))) AS at
  ORDER BY at DESC, p.id DESC LIMIT $recent
  WITH u, collect(p) AS recent
  UNWIND range(0, size(recent) - 1) AS rank
  WITH u, recent[rank] AS p, $decay ^ rank AS recency
  WITH u, p, recency / sqrt(toFloat(COUNT { (p)<-[:PURCHASED|RATED]-() })) AS weight
  CALL (u, p) {
    MATCH (p)<-[:PURCHASED|RATED]-(other:User) WHERE other <> u
    WITH DISTINCT other LIMIT $fanout
    RETURN other
  }
  WITH u, p, weight, other
  WITH u, other, sum(weight) AS shared
  WITH u, other, shared / sqrt(toFloat(COUNT { (other)-[:PURCHASED|RATED]->() })) AS similarity
  ORDER BY similarity DESC, other.id LIMIT $neighbours
  WITH u, collect({other: other, similarity: similarity}) AS near
  UNWIND near AS neighbour
  WITH u, size(near) AS found, neighbour.other AS other, neighbour.similarity AS similarity
  MATCH (other)-[:PURCHASED|RATED]->(rec:Product)
  WITH DISTINCT u, found, other, similarity, rec
  WITH u, found, rec, sum(similarity) AS support, count(other) AS people
  WITH u, found, collect({rec: rec, support: support, people: people}) AS candidates
  WITH found, candidates, COLLECT { MATCH (u)-[:PURCHASED|RATED]->(own:Product) RETURN DISTINCT own } AS mine
  UNWIND candidates AS candidate
  WITH found, candidate.rec AS rec, candidate.support AS support, candidate.people AS people, mine
  WHERE NOT rec IN mine
  WITH rec, support / sqrt(toFloat(COUNT { (rec)<-[:PURCHASED|RATED]-() })) AS score, people, found
  ORDER BY score DESC, rec.id LIMIT $limit
  RETURN collect({id: rec.id, score: score, people: people, neighbours: found}) AS items
}
RETURN uid AS key, items
"""

POPULAR: LiteralString = """
MATCH (p:Product) WHERE p.units > 0
WITH p ORDER BY p.units DESC, p.id
WITH collect({product: p, units: p.units, orders: p.orders}) AS ranked
UNWIND $ids AS uid
MATCH (u:User {id: uid})
CALL (u, ranked) {
  UNWIND ranked AS entry
  WITH u, entry, entry.product AS p
  WHERE NOT EXISTS { (u)-[:PURCHASED|RATED]->(p) }
  WITH entry LIMIT $limit
  RETURN collect({id: entry.product.id, score: entry.units, units: entry.units, orders: entry.orders}) AS items
}
RETURN uid AS key, items
"""


def _graph_reason(item: dict[str, Any]) -> str:
    return (
        f"Chosen by {item['people']} of the {item['neighbours']} customers whose purchases best match your most "
        "recent ones"
    )


def _neighbours_reason(item: dict[str, Any]) -> str:
    return f"Bought or rated by {item['people']} of the {NEIGHBOURS} customers whose purchases are most like yours"


# The candidates' filter in each query, which a category extends.
_CANDIDATES: dict[Strategy, tuple[LiteralString, LiteralString]] = {
    "graph": ("WHERE NOT rec IN mine", "rec"),
    "similar_users": ("WHERE NOT rec IN mine", "rec"),
    "popular": ("WHERE NOT EXISTS { (u)-[:PURCHASED|RATED]->(p) }", "p"),
}

# strategy -> (the operation named in explain and traces, query, reason, extra parameters)
_QUERIES: dict[Strategy, tuple[str, LiteralString, Callable[[dict[str, Any]], str], dict[str, Any]]] = {
    "graph": (
        "recommendations",
        GRAPH,
        _graph_reason,
        {"recent": RECENT, "decay": 0.5 ** (1 / HALF_LIFE), "neighbours": GRAPH_NEIGHBOURS},
    ),
    "similar_users": ("recommendations_similar_users", RECOMMENDATIONS, _neighbours_reason, {"neighbours": NEIGHBOURS}),
    "popular": ("recommendations_popular", POPULAR, popular_reason, {}),
}


async def recommendations(
    source: Neo4jSource,
    user_ids: Sequence[int],
    *,
    limit: int,
    strategy: Strategy = DEFAULT_STRATEGY,
    category: int | None = None,
) -> list[list[Scored] | None]:
    """Per user, the best ``limit`` products by ``strategy`` (in ``category`` or one of its subcategories, when
    given), best first; None for a user the graph does not know."""
    operation, cypher, reason, params = _QUERIES[strategy]
    if category is not None:
        condition, node = _CANDIDATES[strategy]
        if cypher.count(condition) != 1:  # the query changed: a category must never be dropped silently
            raise RuntimeError(f"the {strategy} query has no single candidates' filter {condition!r}")
        cypher = cypher.replace(condition, condition + " AND " + in_category(node))
        params = {**params, "category": category}
    return await per_key(source, operation, cypher, user_ids, reason, limit=limit, **params)
