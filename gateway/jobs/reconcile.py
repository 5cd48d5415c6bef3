"""Compare key sets and counts across stores, with MySQL as the source of truth (read-only).

Each check pairs a MySQL key set with the copy another store should hold: users with profiles and User nodes,
products with attribute and metric documents and Product nodes, categories with Category nodes and their parent
links with SUBCATEGORY_OF edges, product_categories with IN_CATEGORY edges, ratings with RATED edges, and the lines
of orders not cancelled with PURCHASED edges (the relay removes a cancelled order's edges). Forgotten users
(``deleteUser``: an anonymised MySQL row with ``deleted_at`` set, kept for their orders) have no copy anywhere: they
are left out of the users, and their orders out of the PURCHASED edges, so a copy that still holds one is extra.
Drift is what is missing from the copy or extra in it; gateway/jobs/repair.py mends it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from gateway.stores import Sources
from gateway.stores.mongo import bulk as mongo_bulk
from gateway.stores.mongo.schema import PRODUCT_ATTRIBUTES, PRODUCT_METRICS, USER_PROFILES
from gateway.stores.mysql import bulk as mysql_bulk
from gateway.stores.mysql import tables as t
from gateway.stores.mysql.bulk import Table
from gateway.stores.neo4j import bulk as neo4j_bulk

SAMPLE = 5
Store = Literal["mongodb", "neo4j"]


@dataclass(frozen=True, slots=True)
class Comparison:
    name: str  # e.g. "users → neo4j:User"
    source_count: int
    copy_count: int
    missing: frozenset[Any]  # in MySQL, not in the copy
    extra: frozenset[Any]  # in the copy, not in MySQL
    store: Store
    target: str  # the collection, node label or edge type

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

    async def parent_links() -> set[Any]:
        rows = await mysql_bulk.columns(my, t.categories, ["id", "parent_id"])
        return {(c, p) for c, p in rows if p is not None}

    users, products, categories, parents, links, ratings, items = await asyncio.gather(
        mysql_bulk.live_user_ids(my),
        mysql_ids(t.products, "id"),
        mysql_ids(t.categories, "id"),
        parent_links(),
        mysql_ids(t.product_categories, "product_id", "category_id"),
        mysql_ids(t.ratings, "user_id", "product_id"),
        mysql_bulk.purchased_keys(my),
    )

    def docs(collection: str) -> KeyReader:
        return lambda: mongo_bulk.id_set(mongo, collection)

    def graph(shape: str) -> KeyReader:
        return lambda: neo4j_bulk.key_set(neo, shape)

    pairs: list[tuple[str, set[Any], Store, str, KeyReader]] = [
        ("users", users, "mongodb", USER_PROFILES, docs(USER_PROFILES)),
        ("users", users, "neo4j", "User", graph("User")),
        ("products", products, "mongodb", PRODUCT_ATTRIBUTES, docs(PRODUCT_ATTRIBUTES)),
        ("products", products, "mongodb", PRODUCT_METRICS, docs(PRODUCT_METRICS)),
        ("products", products, "neo4j", "Product", graph("Product")),
        ("categories", categories, "neo4j", "Category", graph("Category")),
        ("category parents", parents, "neo4j", "SUBCATEGORY_OF", graph("SUBCATEGORY_OF")),
        ("product_categories", links, "neo4j", "IN_CATEGORY", graph("IN_CATEGORY")),
        ("ratings", ratings, "neo4j", "RATED", graph("RATED")),
        ("order_items", items, "neo4j", "PURCHASED", graph("PURCHASED")),
    ]
    copies = await asyncio.gather(*(read() for *_, read in pairs))
    comparisons = tuple(
        Comparison(
            f"{what} → {store}:{target}",
            len(truth),
            len(copy),
            frozenset(truth - copy),
            frozenset(copy - truth),
            store,
            target,
        )
        for (what, truth, store, target, _), copy in zip(pairs, copies, strict=True)
    )
    return ReconcileReport(comparisons)
