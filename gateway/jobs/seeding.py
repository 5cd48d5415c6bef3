"""Seed a dataset into MySQL, then MongoDB and Neo4j, idempotently and in batches.

Order: MySQL in foreign-key order (categories, users, products, product_categories, inventory, orders,
order_items, ratings); then the shared keys are read back from MySQL, and only rows whose keys MySQL has go to
MongoDB (registry, attributes, metrics, profiles) and Neo4j (nodes, then edges). Every write inserts only what is
missing (MySQL: SELECT the chunk's keys, executemany the rest; MongoDB: find $in, insert_many; Neo4j: UNWIND
MERGE), so a second run writes nothing, and the report counts every write. Bad rows are reported, never written.
When the run wrote to Neo4j, the graph's read queries run once (gateway/jobs/warm.py): the first page after a load
must not pay for the new graph's query plans and cold pages.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from statistics import fmean, pstdev
from typing import Any

from tqdm import tqdm

from gateway.errors import BadUserInput
from gateway.jobs.datasets.rows import Dataset, Problem
from gateway.jobs.warm import Timings, warm
from gateway.stores import Sources
from gateway.stores.mongo import bulk as mongo_bulk
from gateway.stores.mongo.documents import (
    ProductAttributes,
    ProductMetrics,
    RegistryEntry,
    UserProfile,
    allowed_attributes,
    parse,
    validate_attributes,
)
from gateway.stores.mongo.schema import ATTRIBUTE_REGISTRY, PRODUCT_ATTRIBUTES, PRODUCT_METRICS, USER_PROFILES
from gateway.stores.mysql import bulk as mysql_bulk
from gateway.stores.mysql import tables as t
from gateway.stores.mysql.bulk import Table
from gateway.stores.neo4j import bulk as neo4j_bulk
from gateway.stores.neo4j import popularity

Row = dict[str, Any]


@dataclass(slots=True)
class Tally:
    store: str
    target: str
    rows: int = 0
    written: int = 0


@dataclass(slots=True)
class SeedReport:
    dataset: str
    tallies: list[Tally] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warmed: Timings = field(default_factory=list)  # Neo4j's read queries run once after the graph was written

    @property
    def writes(self) -> int:
        return sum(tally.written for tally in self.tallies)

    def table(self) -> str:
        lines = [f"{'store':<8} {'target':<20} {'rows':>10} {'written':>10} {'present':>10}"]
        for x in self.tallies:
            lines.append(f"{x.store:<8} {x.target:<20} {x.rows:>10,} {x.written:>10,} {x.rows - x.written:>10,}")
        lines.append(f"total writes: {self.writes:,}; bad rows: {len(self.problems):,}")
        return "\n".join(lines)


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def _chunks(rows: Sequence[Row], size: int) -> Iterator[Sequence[Row]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


class Seeder:
    def __init__(self, sources: Sources, *, chunk: int = 5000, progress: bool = True) -> None:
        self.sources = sources
        self.chunk = chunk
        self.progress = progress
        self._keys: tuple[set[int], set[int], set[int]] | None = None

    async def _load(self, report: SeedReport, store: str, target: str, rows: Sequence[Row], write: Writer) -> None:
        tally = Tally(store, target, rows=len(rows))
        report.tallies.append(tally)
        bar = tqdm(total=len(rows), desc=f"{store}:{target}", unit="row", disable=not self.progress, leave=False)
        with bar:
            for chunk in _chunks(rows, self.chunk):
                tally.written += await write(chunk)
                bar.update(len(chunk))

    async def seed(self, dataset: Dataset, *, graph: bool = True) -> SeedReport:
        """Seed MySQL, then MongoDB, then (unless ``graph`` is False) Neo4j, in foreign-key order."""
        report = SeedReport(dataset.name, problems=list(dataset.problems))
        await self._mysql(dataset, report)
        await self._mongodb(dataset, report)
        if graph:
            await self._neo4j(dataset, report)
            wrote = any(x.written for x in report.tallies if x.store == "neo4j")
            if wrote:  # units and orders of every product this dataset holds or sold
                sold = {p.id for p in dataset.products} | {i.product_id for o in dataset.orders for i in o.items}
                await popularity.refresh(self.sources.neo4j, sorted(sold))
            else:  # a graph seeded before the counters existed
                await popularity.refresh(self.sources.neo4j, missing=True)
            if wrote:
                report.warmed = await warm(self.sources, "neo4j")  # the graph changed: plan its reads now
        return report

    # ------------------------------------------------------------------ MySQL
    async def _mysql(self, ds: Dataset, report: SeedReport) -> None:
        self._keys = None  # MySQL changes in this phase: the shared keys are read after it
        my = self.sources.mysql

        def into(table: Table, key: Sequence[str]) -> Writer:
            return lambda rows: mysql_bulk.insert_missing(my, table, rows, key)

        roots_first = sorted(ds.categories, key=lambda c: (c.parent_id is not None, c.id))
        await self._load(report, "mysql", "categories", [_row(c) for c in roots_first], into(t.categories, ["id"]))
        await self._load(report, "mysql", "users", [_row(u) for u in ds.users], into(t.users, ["id"]))
        products = [
            {k: v for k, v in _row(p).items() if k not in ("category_ids", "stock")} | {"updated_at": p.created_at}
            for p in ds.products
        ]
        await self._load(report, "mysql", "products", _naive(products), into(t.products, ["id"]))
        links = [{"product_id": p.id, "category_id": c} for p in ds.products for c in p.category_ids]
        key = ["product_id", "category_id"]
        await self._load(report, "mysql", "product_categories", links, into(t.product_categories, key))
        stock = [{"product_id": p.id, "quantity": p.stock} for p in ds.products]
        await self._load(report, "mysql", "inventory", stock, into(t.inventory, ["product_id"]))
        orders = [
            {
                "id": o.id,
                "user_id": o.user_id,
                "status": o.status,
                "total_cents": o.total_cents,
                "idempotency_key": o.idempotency_key,
                "created_at": o.created_at,
                "updated_at": o.created_at,
            }
            for o in ds.orders
        ]
        await self._load(report, "mysql", "orders", _naive(orders), into(t.orders, ["id"]))
        items = [
            {
                "order_id": o.id,
                "product_id": i.product_id,
                "quantity": i.quantity,
                "unit_price_cents": i.unit_price_cents,
            }
            for o in ds.orders
            for i in o.items
        ]
        await self._load(report, "mysql", "order_items", items, into(t.order_items, ["order_id", "product_id"]))
        ratings = [_row(r) for r in ds.ratings]
        await self._load(report, "mysql", "ratings", _naive(ratings), into(t.ratings, ["user_id", "product_id"]))

    async def _mysql_keys(self, table: Table, column: str) -> set[int]:
        return {k[0] for k in await mysql_bulk.key_set(self.sources.mysql, table, [column])}

    async def _shared_keys(self) -> tuple[set[int], set[int], set[int]]:
        """Users, products and categories MySQL holds once its phase is done: read once, used by both copies."""
        if self._keys is None:
            self._keys = (
                await self._mysql_keys(t.users, "id"),
                await self._mysql_keys(t.products, "id"),
                await self._mysql_keys(t.categories, "id"),
            )
        return self._keys

    # ------------------------------------------------------------------ MongoDB
    async def _mongodb(self, ds: Dataset, report: SeedReport) -> None:
        mongo = self.sources.mongodb
        users, products, categories = await self._shared_keys()

        def into(collection: str) -> Writer:
            return lambda docs: mongo_bulk.insert_missing(mongo, collection, docs)

        registry: dict[int, dict[str, Any]] = defaultdict(dict)
        for spec in ds.registry:
            registry[spec.category_id][spec.name] = spec.type
        entries = []
        for category_id, attributes in sorted(registry.items()):
            if category_id not in categories:
                report.problems.append(Problem(ATTRIBUTE_REGISTRY, 0, f"category {category_id} is not in MySQL"))
                continue
            entries.append(
                _valid(report, ATTRIBUTE_REGISTRY, RegistryEntry, {"_id": category_id, "attributes": attributes})
            )
        await self._load(report, "mongodb", ATTRIBUTE_REGISTRY, _present(entries), into(ATTRIBUTE_REGISTRY))

        categories_of = {p.id: p.category_ids for p in ds.products}
        docs = []
        for doc in ds.product_documents:
            if doc.product_id not in products:
                report.problems.append(Problem(PRODUCT_ATTRIBUTES, 0, f"product {doc.product_id} is not in MySQL"))
                continue
            data = {
                "_id": doc.product_id,
                "attributes": doc.attributes,
                "description": doc.description,
                "tags": list(doc.tags),
                "images": list(doc.images),
            }
            valid = _valid(report, PRODUCT_ATTRIBUTES, ProductAttributes, data)
            try:
                validate_attributes(doc.attributes, allowed_attributes(registry, categories_of.get(doc.product_id, ())))
            except BadUserInput as exc:
                report.problems.append(Problem(PRODUCT_ATTRIBUTES, 0, f"product {doc.product_id}: {exc}"))
                valid = None
            docs.append(valid)
        await self._load(report, "mongodb", PRODUCT_ATTRIBUTES, _present(docs), into(PRODUCT_ATTRIBUTES))

        metrics = await self._metrics(products)
        await self._load(report, "mongodb", PRODUCT_METRICS, metrics, into(PRODUCT_METRICS))

        profiles = []
        for profile in ds.profiles:
            if profile.user_id not in users:
                report.problems.append(Problem(USER_PROFILES, 0, f"user {profile.user_id} is not in MySQL"))
                continue
            data = {"_id": profile.user_id, "preferences": profile.preferences, "stats": profile.stats}
            profiles.append(_valid(report, USER_PROFILES, UserProfile, data))
        await self._load(report, "mongodb", USER_PROFILES, _present(profiles), into(USER_PROFILES))

    async def _metrics(self, products: set[int]) -> list[Row]:
        """Computed from MySQL (the source of truth): rating average, count, deviation, units in orders not
        cancelled (as the relay and reconcile count them)."""
        my = self.sources.mysql
        ratings: dict[int, list[int]] = defaultdict(list)
        for product_id, rating in await mysql_bulk.columns(my, t.ratings, ["product_id", "rating"]):
            ratings[product_id].append(rating)
        units: dict[int, int] = defaultdict(int)
        for product_id, quantity in await mysql_bulk.purchased_quantities(my):
            units[product_id] += quantity
        now = datetime.now(UTC)
        docs = []
        for product_id in sorted(products):
            values = ratings.get(product_id, [])
            doc = ProductMetrics.model_validate(
                {
                    "_id": product_id,
                    "rating_avg": round(fmean(values), 4) if values else None,
                    "rating_count": len(values),
                    "rating_std": round(pstdev(values), 4) if values else None,
                    "popularity": units.get(product_id, 0),
                    "updated_at": now,
                }
            )
            docs.append(doc.to_mongo())
        return docs

    # ------------------------------------------------------------------ Neo4j
    async def _neo4j(self, ds: Dataset, report: SeedReport) -> None:
        neo = self.sources.neo4j
        users, products, categories = await self._shared_keys()

        def into(shape: str) -> Writer:
            return lambda rows: neo4j_bulk.merge(neo, shape, rows)

        def known(rows: list[Row], checks: dict[str, set[int]], target: str) -> list[Row]:
            kept = []
            for row in rows:
                unknown = [f"{name} {row[name]}" for name, ids in checks.items() if row[name] not in ids]
                if unknown:
                    report.problems.append(Problem(f"neo4j:{target}", 0, f"{', '.join(unknown)} not in MySQL"))
                else:
                    kept.append(row)
            return kept

        cats = [{"id": c.id, "name": c.name, "parent_id": c.parent_id} for c in ds.categories]
        await self._load(report, "neo4j", "Category", known(cats, {"id": categories}, "Category"), into("Category"))
        nodes: list[Row] = [{"id": u.id} for u in ds.users]
        await self._load(report, "neo4j", "User", known(nodes, {"id": users}, "User"), into("User"))
        nodes = [{"id": p.id, "title": p.title} for p in ds.products]
        await self._load(report, "neo4j", "Product", known(nodes, {"id": products}, "Product"), into("Product"))
        subs = [c for c in cats if c["parent_id"] is not None]
        await self._load(report, "neo4j", "SUBCATEGORY_OF", subs, into("SUBCATEGORY_OF"))
        links = [{"product_id": p.id, "category_id": c} for p in ds.products for c in p.category_ids]
        checks = {"product_id": products, "category_id": categories}
        await self._load(report, "neo4j", "IN_CATEGORY", known(links, checks, "IN_CATEGORY"), into("IN_CATEGORY"))
        rated = [
            {"user_id": r.user_id, "product_id": r.product_id, "rating": r.rating, "at": r.created_at.isoformat()}
            for r in ds.ratings
        ]
        checks = {"user_id": users, "product_id": products}
        await self._load(report, "neo4j", "RATED", known(rated, checks, "RATED"), into("RATED"))
        bought = [
            {
                "user_id": o.user_id,
                "product_id": i.product_id,
                "order_id": o.id,
                "qty": i.quantity,
                "at": o.created_at.isoformat(),
            }
            for o in ds.orders
            if o.status != "cancelled"
            for i in o.items
        ]
        await self._load(report, "neo4j", "PURCHASED", known(bought, checks, "PURCHASED"), into("PURCHASED"))


Writer = Callable[[Sequence[Row]], Awaitable[int]]


def _row(record: Any) -> Row:
    return {name: getattr(record, name) for name in record.__slots__}


def _naive(rows: list[Row]) -> list[Row]:
    for row in rows:
        for name, value in row.items():
            if isinstance(value, datetime):
                row[name] = _naive_utc(value)
    return rows


def _valid(report: SeedReport, collection: str, model: Any, data: Row) -> Row | None:
    try:
        return dict(parse(model, data).to_mongo())
    except BadUserInput as exc:
        report.problems.append(Problem(collection, 0, f"_id {data.get('_id')}: {exc}"))
        return None


def _present(rows: list[Row | None]) -> list[Row]:
    return [row for row in rows if row is not None]
