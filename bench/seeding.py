"""Seeding throughput per store: MovieLens-100K and N synthetic orders, each into empty databases.

    .venv/bin/python bench/seeding.py [--orders 100000] [--write]

Uses its own MySQL and Mongo databases (gateway_bench) and clears them first; Neo4j Community has a single
database, so the bench clears the graph too: do not run it against data you need. Prints rows/s per store;
``--write`` replaces its section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

from markdown import replace_section  # bench/ is sys.path[0] when run as a script
from read_path import bench_settings, machine, server_versions

from gateway.config import Settings
from gateway.jobs.datasets import movielens, synthetic
from gateway.jobs.datasets.rows import Dataset
from gateway.jobs.migrate import downgrade_mysql, ensure_document_and_graph_schema, upgrade_mysql
from gateway.jobs.seeding import Seeder, SeedReport
from gateway.stores import Sources
from gateway.stores.mongo.schema import COLLECTIONS
from gateway.stores.neo4j import bulk as neo4j_bulk

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## Seeding throughput"


async def clear_graph(settings: Settings) -> None:
    sources = Sources.create(settings)
    try:
        # Edges first, in bounded batches: a heavy user's node alone can carry tens of thousands of them.
        while await neo4j_bulk.run(sources.neo4j, "MATCH ()-[r]->() WITH r LIMIT 10000 DELETE r"):
            pass
        while await neo4j_bulk.run(sources.neo4j, "MATCH (n) WITH n LIMIT 10000 DELETE n"):
            pass
    finally:
        await sources.close()


async def reset(settings: Settings) -> None:
    await asyncio.to_thread(upgrade_mysql, settings)  # creates the database on the first run
    await asyncio.to_thread(downgrade_mysql, settings, "base")
    await asyncio.to_thread(upgrade_mysql, settings)
    sources = Sources.create(settings)
    try:
        for name in COLLECTIONS:
            await sources.mongodb.db.drop_collection(name)
    finally:
        await sources.close()
    await clear_graph(settings)
    sources = Sources.create(settings)
    try:
        await ensure_document_and_graph_schema(sources)
    finally:
        await sources.close()


class TimedSeeder(Seeder):
    """Times each store's phase of the seed."""

    async def seed(self, dataset: Dataset) -> SeedReport:
        report = SeedReport(dataset.name, problems=list(dataset.problems))
        self.seconds: dict[str, float] = {}
        for store, phase in (("mysql", self._mysql), ("mongodb", self._mongodb), ("neo4j", self._neo4j)):
            start = time.perf_counter()
            await phase(dataset, report)
            self.seconds[store] = time.perf_counter() - start
        return report


async def run_one(settings: Settings, dataset: Dataset) -> tuple[list[str], list[str]]:
    """The dataset's table rows, and the servers' versions."""
    await reset(settings)
    sources = Sources.create(settings)
    try:
        seeder = TimedSeeder(sources, progress=False)
        report = await seeder.seed(dataset)
        versions = await server_versions((sources.mysql, sources.mongodb, sources.neo4j))
    finally:
        await sources.close()
    lines = []
    for store in ("mysql", "mongodb", "neo4j"):
        rows = sum(t.written for t in report.tallies if t.store == store)
        seconds = seeder.seconds[store]
        lines.append(f"| {dataset.name} | {store} | {rows:,} | {seconds:.1f} | {rows / seconds:,.0f} |")
    return lines, versions


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--write", action="store_true", help="replace (or add) this bench's section in BENCHMARKS.md")
    args = parser.parse_args()
    settings = bench_settings()
    datasets = [
        movielens.load(movielens.ensure_wheel(settings.cache_dir)),
        synthetic.generate(orders=args.orders),
    ]
    datasets[1].name = f"synthetic {args.orders:,} orders"
    table = ["| dataset | store | rows written | seconds | rows/s |", "|---|---|---:|---:|---:|"]
    versions: list[str] = []
    try:
        for dataset in datasets:
            lines, versions = await run_one(settings, dataset)
            table += lines
    finally:
        # The graph is shared with the demo and the tests (one database in Community): leave it empty, and the
        # next `gateway seed` (scripts/run, the tests) fills it again from MySQL's data.
        await clear_graph(settings)
    text = "\n".join(table)
    print(text)
    if args.write:
        command = f".venv/bin/python bench/seeding.py --orders {args.orders} --write"
        intro = (
            f"`{command}` on {datetime.now(UTC):%Y-%m-%d}, {machine()}; {', '.join(versions)}; batches of 5,000 "
            "rows (the seeder's default chunk). Each store's rows/s counts every row it wrote (MySQL: all tables; "
            "MongoDB: all collections, documents validated first; Neo4j: nodes and relationships by UNWIND MERGE)."
        )
        replace_section(ROOT / "BENCHMARKS.md", SECTION, intro + "\n\n" + text)  # the contents regenerated
        print("BENCHMARKS.md updated")


if __name__ == "__main__":
    asyncio.run(main())
