"""Compare key sets and counts across stores, with MySQL as the source of truth (read-only).

Each check pairs a MySQL key set with the copy another store should hold: users with profiles and User nodes,
products with attribute and metric documents and Product nodes, categories with Category nodes, ratings with
RATED edges, order items with PURCHASED edges. Drift is what is missing from the copy or extra in it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from gateway.sources import Sources, mongo_bulk, mysql_bulk, neo4j_bulk
from gateway.sources import mysql_tables as t
from gateway.sources.mongo_schema import PRODUCT_ATTRIBUTES, PRODUCT_METRICS, USER_PROFILES
from gateway.sources.mysql_bulk import Table

SAMPLE = 5


@dataclass(frozen=True, slots=True)
class Comparison:
    name: str  # e.g. "users → neo4j:User"
    source_count: int
    copy_count: int
    missing: frozenset[Any]  # in MySQL, not in the copy
    extra: frozenset[Any]  # in the copy, not in MySQL

    @property
    def drift(self) -> bool:
        return bool(self.missing or self.extra)

    def line(self) -> str:
        state = "ok" if not self.drift else f"DRIFT: {len(self.missing):,} missing, {len(self.extra):,} extra"
        text = f"{self.name:<40} mysql {self.source_count:>9,}  copy {self.copy_count:>9,}  {state}"
        for label, keys in (("missing", self.missing), ("extra", self.extra)):
            if keys:
                text += (
                    f"\n    {label}: {', '.join(map(str, sorted(keys)[:SAMPLE]))}{' …' if len(keys) > SAMPLE else ''}"
                )
        return text


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    comparisons: tuple[Comparison, ...]

    @property
    def drift(self) -> bool:
        return any(c.drift for c in self.comparisons)

    def by_name(self, name: str) -> Comparison:
        return next(c for c in self.comparisons if c.name == name)

    def text(self) -> str:
        lines = [c.line() for c in self.comparisons]
        lines.append("drift found" if self.drift else "no drift: every store agrees with MySQL")
        return "\n".join(lines)


KeyReader = Callable[[], Awaitable[set[Any]]]


async def check(sources: Sources) -> ReconcileReport:
    my, mongo, neo = sources.mysql, sources.mongodb, sources.neo4j

    async def mysql_ids(table: Table, *key: str) -> set[Any]:
        keys = await mysql_bulk.key_set(my, table, key)
        return {k[0] if len(k) == 1 else k for k in keys}

    users, products, categories, ratings, items = await asyncio.gather(
        mysql_ids(t.users, "id"),
        mysql_ids(t.products, "id"),
        mysql_ids(t.categories, "id"),
        mysql_ids(t.ratings, "user_id", "product_id"),
        mysql_ids(t.order_items, "order_id", "product_id"),
    )
    pairs: list[tuple[str, set[Any], KeyReader]] = [
        (f"users → mongodb:{USER_PROFILES}", users, lambda: mongo_bulk.id_set(mongo, USER_PROFILES)),
        ("users → neo4j:User", users, lambda: neo4j_bulk.key_set(neo, "User")),
        (f"products → mongodb:{PRODUCT_ATTRIBUTES}", products, lambda: mongo_bulk.id_set(mongo, PRODUCT_ATTRIBUTES)),
        (f"products → mongodb:{PRODUCT_METRICS}", products, lambda: mongo_bulk.id_set(mongo, PRODUCT_METRICS)),
        ("products → neo4j:Product", products, lambda: neo4j_bulk.key_set(neo, "Product")),
        ("categories → neo4j:Category", categories, lambda: neo4j_bulk.key_set(neo, "Category")),
        ("ratings → neo4j:RATED", ratings, lambda: neo4j_bulk.key_set(neo, "RATED")),
        ("order_items → neo4j:PURCHASED", items, lambda: neo4j_bulk.key_set(neo, "PURCHASED")),
    ]
    copies = await asyncio.gather(*(read() for _, _, read in pairs))
    comparisons = tuple(
        Comparison(name, len(truth), len(copy), frozenset(truth - copy), frozenset(copy - truth))
        for (name, truth, _), copy in zip(pairs, copies, strict=True)
    )
    return ReconcileReport(comparisons)
