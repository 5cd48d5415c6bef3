"""Mend the drift ``reconcile.check`` finds, from MySQL (the source of truth), then check again.

For each comparison, in chunks (one statement per chunk):

- Neo4j, extra keys: edges deleted first, then nodes (DETACH DELETE).
- Neo4j, missing keys: nodes MERGEd from their MySQL rows (Category with its name, User, Product with its title),
  then edges in the shapes seeding writes (``neo4j_bulk.MERGE_EDGES``): SUBCATEGORY_OF, IN_CATEGORY, RATED with
  rating and at, PURCHASED with order_id, qty and at (lines of orders not cancelled, as check counts them).
- MongoDB, extra ids: deleted.
- MongoDB, missing ids: product_metrics recomputed from MySQL as the relay does; user_profiles an empty profile;
  product_attributes an empty document (``attributes: {}``, ``description: null``), since MySQL does not hold
  attributes: they cannot be recovered, only set again.

Check compares keys, not values, so neither does repair (a RATED edge with a stale rating stays as it is). It
refuses to run when a MySQL key set is empty while its copy is not: a wrong database URL would otherwise wipe
every copy.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gateway.jobs.product_metrics import metrics_documents
from gateway.jobs.reconcile import Comparison, ReconcileReport, check
from gateway.stores import Sources
from gateway.stores.mongo import bulk as mongo_bulk
from gateway.stores.mongo.client import Document
from gateway.stores.mongo.documents import ProductAttributes, UserProfile, parse
from gateway.stores.mongo.schema import PRODUCT_ATTRIBUTES, PRODUCT_METRICS, USER_PROFILES
from gateway.stores.mysql import bulk as mysql_bulk
from gateway.stores.mysql import tables as t
from gateway.stores.neo4j import bulk as neo4j_bulk
from gateway.stores.neo4j import popularity

CHUNK = 5000
METRICS_CHUNK = 500  # per-product aggregates over ratings and order lines: smaller statements

Row = dict[str, Any]
RowsFor = Callable[[Sequence[Any]], Awaitable[list[Row]]]

# Neo4j shapes in the order they are mended: nodes before the edges that MATCH them (deletes run edges first).
NODES = ("Category", "User", "Product")
EDGES = ("SUBCATEGORY_OF", "IN_CATEGORY", "RATED", "PURCHASED")


class RepairRefused(Exception):
    """Repairing would empty a copy because MySQL's side is empty: most likely the wrong MySQL database."""


@dataclass(frozen=True, slots=True)
class Mend:
    name: str  # the comparison's name
    created: int
    deleted: int


@dataclass(frozen=True, slots=True)
class RepairReport:
    before: ReconcileReport
    mends: tuple[Mend, ...]
    after: ReconcileReport

    @property
    def writes(self) -> int:
        return sum(m.created + m.deleted for m in self.mends)

    def mend(self, name: str) -> Mend:
        return next(m for m in self.mends if m.name == name)

    def text(self) -> str:
        lines = ["before repair:", self.before.text(), "", "repaired:"]
        lines += [f"{m.name:<40} created {m.created:>9,}  deleted {m.deleted:>9,}" for m in self.mends]
        lines += [f"total writes: {self.writes:,}", "", "after repair:", self.after.text()]
        return "\n".join(lines)


def _chunks(keys: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(keys), size):
        yield keys[start : start + size]


def _iso(moment: datetime) -> str:
    """MySQL's naive UTC as seeding writes it to Neo4j (an ISO string with +00:00)."""
    return moment.replace(tzinfo=UTC).isoformat()


class Repairer:
    def __init__(self, sources: Sources, *, chunk: int = CHUNK) -> None:
        self.sources = sources
        self.chunk = chunk

    async def repair(self, before: ReconcileReport | None = None) -> RepairReport:
        before = before or await check(self.sources)
        refuse_emptying(before)
        mends = {c.name: [0, 0] for c in before.comparisons}
        graph = [c for c in before.comparisons if c.store == "neo4j" and c.drift]
        documents = [c for c in before.comparisons if c.store == "mongodb" and c.drift]
        await asyncio.gather(self._neo4j(graph, mends), self._mongodb(documents, mends))
        after = await check(self.sources)
        return RepairReport(before, tuple(Mend(name, *counts) for name, counts in mends.items()), after)

    # ------------------------------------------------------------------ Neo4j
    async def _neo4j(self, drifted: list[Comparison], mends: dict[str, list[int]]) -> None:
        neo = self.sources.neo4j
        by_shape = {c.target: c for c in drifted}
        for shape in (*EDGES, *NODES):  # extra edges, then extra nodes (with whatever edges they still hold)
            if (c := by_shape.get(shape)) and c.extra:
                for keys in _chunks(list(c.extra), self.chunk):
                    mends[c.name][1] += await neo4j_bulk.delete(neo, shape, keys)
        rows_for: dict[str, RowsFor] = {
            "Category": self._categories,
            "User": _users,
            "Product": self._products,
            "SUBCATEGORY_OF": _parents,
            "IN_CATEGORY": _links,
            "RATED": self._ratings,
            "PURCHASED": self._purchases,
        }
        for shape in (*NODES, *EDGES):  # missing nodes, then the edges between them
            if (c := by_shape.get(shape)) and c.missing:
                for keys in _chunks(list(c.missing), self.chunk):
                    mends[c.name][0] += await neo4j_bulk.merge(neo, shape, await rows_for[shape](keys))
        if any(shape in by_shape for shape in ("PURCHASED", "User", "Product")):
            await popularity.refresh(neo)  # purchases came or went: every product's units and orders again

    async def _categories(self, keys: Sequence[Any]) -> list[Row]:
        return await mysql_bulk.rows_by_key(
            self.sources.mysql, t.categories, ["id"], [(k,) for k in keys], ["id", "name"]
        )

    async def _products(self, keys: Sequence[Any]) -> list[Row]:
        return await mysql_bulk.rows_by_key(
            self.sources.mysql, t.products, ["id"], [(k,) for k in keys], ["id", "title"]
        )

    async def _ratings(self, keys: Sequence[Any]) -> list[Row]:
        names = ["user_id", "product_id", "rating", "created_at"]
        rows = await mysql_bulk.rows_by_key(self.sources.mysql, t.ratings, ["user_id", "product_id"], keys, names)
        return [
            {"user_id": r["user_id"], "product_id": r["product_id"], "rating": r["rating"], "at": _iso(r["created_at"])}
            for r in rows
        ]

    async def _purchases(self, keys: Sequence[Any]) -> list[Row]:
        return [
            {
                "user_id": r["user_id"],
                "product_id": r["product_id"],
                "order_id": r["order_id"],
                "qty": r["quantity"],
                "at": _iso(r["created_at"]),
            }
            for r in await mysql_bulk.purchased_rows(self.sources.mysql, keys)
        ]

    # ------------------------------------------------------------------ MongoDB
    async def _mongodb(self, drifted: list[Comparison], mends: dict[str, list[int]]) -> None:
        mongo = self.sources.mongodb
        for c in drifted:
            for ids in _chunks(list(c.extra), self.chunk):
                mends[c.name][1] += await mongo_bulk.delete_ids(mongo, c.target, ids)
            size = min(self.chunk, METRICS_CHUNK) if c.target == PRODUCT_METRICS else self.chunk
            for ids in _chunks(list(c.missing), size):
                docs = await self._documents(c.target, ids)
                mends[c.name][0] += await mongo_bulk.insert_missing(mongo, c.target, docs)

    async def _documents(self, collection: str, ids: Sequence[int]) -> list[Document]:
        if collection == USER_PROFILES:
            return [parse(UserProfile, {"_id": i}).to_mongo() for i in ids]
        if collection == PRODUCT_ATTRIBUTES:
            return [parse(ProductAttributes, {"_id": i, "attributes": {}, "description": None}).to_mongo() for i in ids]
        if collection == PRODUCT_METRICS:
            return await self._metrics(ids)
        raise ValueError(f"no repair for mongodb:{collection}")

    async def _metrics(self, ids: Sequence[int]) -> list[Document]:
        """Recomputed from MySQL exactly as the relay does."""
        return await metrics_documents(self.sources.mysql, ids)


async def _users(keys: Sequence[Any]) -> list[Row]:
    return [{"id": k} for k in keys]


async def _parents(keys: Sequence[Any]) -> list[Row]:
    return [{"id": child, "parent_id": parent} for child, parent in keys]


async def _links(keys: Sequence[Any]) -> list[Row]:
    return [{"product_id": product, "category_id": category} for product, category in keys]


def refuse_emptying(report: ReconcileReport) -> None:
    emptied = [c for c in report.comparisons if c.source_count == 0 and c.copy_count > 0]
    if emptied:
        raise RepairRefused(
            "MySQL holds no rows for "
            + ", ".join(f"{c.name} (copy: {c.copy_count:,})" for c in emptied)
            + ": refusing to delete every copy (is GATEWAY_MYSQL_URL the right database?)"
        )


async def repair(sources: Sources, *, chunk: int = CHUNK, before: ReconcileReport | None = None) -> RepairReport:
    """Check, mend every drifted comparison from MySQL, check again; the report holds both checks.

    ``before``: mend exactly the drift of this report (a check the caller has just made and looked at) instead of
    checking first, so nothing that appeared in between is deleted.
    """
    return await Repairer(sources, chunk=chunk).repair(before)
