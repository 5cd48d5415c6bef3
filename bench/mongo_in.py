"""The local MongoDB server on the reads and writes the gateway sends it, in a scratch database of its own.

    .venv/bin/python bench/mongo_in.py [--runs 30] [--sizes 2000,50000] [--write]

Against GATEWAY_MONGO_URL (the server scripts/services runs: mongo-java-server by default; start another one with
``GATEWAY_MONGO_SERVER=ferretdb GATEWAY_SERVICES_DIR=… GATEWAY_MONGO_URL=…:PORT scripts/services start mongodb``
and point this at it to compare). For each collection size it fills ``gateway_bench_mongo.attrs`` with documents
shaped like ``product_attributes`` (an integer ``_id``, ~25 attributes, a description, tags) and times, through
the gateway's own client (PyMongo's AsyncMongoClient), the median of ``--runs``:

- ``$in 20 ids``: ``find({_id: {$in: 20 ids}})`` on ids spread over the collection: every MongoDB read of the
  gateway's read path is this (gateway/stores/mongo/reads.py);
- ``$match+$group``: an aggregation over the whole collection (a count per release year of a genre);
- ``100 upserts`` (the first size only): 100 concurrent ``update_one(upsert=True)`` on 10 ids that do not exist yet
  (the relay's and the profile writes' shape), as one wall time; a duplicate-key error among them is counted (a
  real MongoDB retries such a race itself);
- ``$lookup``: whether the server answers one (the gateway does not need it: its joins cross stores).

``--write`` stores the figures per server in bench/results/mongo_in.json and rewrites the BENCHMARKS.md section
from every server recorded there. The database is dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from markdown import replace_section

from gateway.config import Settings
from gateway.stores.mongo.client import MongoSource

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "mongo_in.json"
HEADING = "MongoDB: the local server on the gateway's reads and writes"
DATABASE = "gateway_bench_mongo"
GENRES = ["Action", "Comedy", "Drama", "Horror", "Romance", "Thriller", "Animation", "Documentary"]


def document(i: int) -> dict[str, Any]:
    rng = random.Random(i)
    return {
        "_id": i,
        "attributes": {
            "release_year": 1950 + i % 70,
            "genres": rng.sample(GENRES, 2),
            "actor": [f"m.{rng.randrange(1 << 30):x}" for _ in range(20)],
            "directed_by": [f"m.{rng.randrange(1 << 30):x}"],
            "language": ["m.02h40lc"],
        },
        "description": f"Product {i}",
        "tags": ["synthetic", GENRES[i % len(GENRES)].lower()],
        "images": [],
    }


async def median_ms(runs: int, call: Callable[[], Awaitable[Any]]) -> float:
    await call()  # once untimed: connections open, the server's code paths warm
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        await call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


async def measure(source: MongoSource, size: int, runs: int, *, with_upserts: bool) -> dict[str, Any]:
    attrs = source.db["attrs"]
    await attrs.drop()
    start = time.perf_counter()
    for first in range(0, size, 5000):
        await attrs.insert_many([document(i) for i in range(first, min(size, first + 5000))], ordered=False)
    fill_s = time.perf_counter() - start
    rng = random.Random(size)

    async def by_ids() -> None:
        ids = rng.sample(range(size), 20)
        found = await attrs.find({"_id": {"$in": ids}}).to_list()
        assert len(found) == 20, len(found)

    async def grouped() -> None:
        rows = await (
            await attrs.aggregate(
                [
                    {"$match": {"attributes.genres": "Drama"}},
                    {"$group": {"_id": "$attributes.release_year", "n": {"$sum": 1}}},
                ]
            )
        ).to_list()
        assert rows

    duplicate_errors = 0
    round_ = 0

    async def upserts() -> None:
        nonlocal duplicate_errors, round_
        round_ += 1
        ids = [10_000_000 + round_ * 10 + k for k in range(10)]

        async def one(n: int) -> None:
            nonlocal duplicate_errors
            try:
                await attrs.update_one({"_id": ids[n % 10]}, {"$inc": {"hits": 1}}, upsert=True)
            except Exception as exc:
                if getattr(exc, "code", None) != 11000:
                    raise
                duplicate_errors += 1

        await asyncio.gather(*(one(n) for n in range(100)))

    figures = {
        "docs": size,
        "fill_s": round(fill_s, 2),
        "in_20_ms": round(await median_ms(runs, by_ids), 2),
        "group_ms": round(await median_ms(runs, grouped), 2),
    }
    if with_upserts:
        figures["upserts_100_ms"] = round(await median_ms(max(3, runs // 3), upserts), 1)
        figures["upsert_duplicate_errors"] = duplicate_errors
    return figures


async def lookup_works(source: MongoSource) -> bool:
    pipeline = [
        {"$match": {"_id": 1}},
        {"$lookup": {"from": "attrs", "localField": "_id", "foreignField": "_id", "as": "self"}},
    ]
    try:
        cursor = await source.db["attrs"].aggregate(pipeline)
        rows = await cursor.to_list()
    except Exception:  # CommandNotFound / unsupported stage: the bench may not name the driver's errors (TID251)
        return False
    return bool(rows) and len(rows[0].get("self", [])) == 1


async def main(args: argparse.Namespace) -> dict[str, Any]:
    settings = Settings(mongo_database=DATABASE, source_timeout_s=600, batch_timeout_s=600)
    source = MongoSource(settings.model_copy(update={"source_timeout_s": 600}))
    try:
        info = await source.server_info()
        server = f"{info.server} {info.version}"
        sizes = [int(s) for s in args.sizes.split(",")]
        rows = []
        for size in sizes:
            rows.append(await measure(source, size, args.runs, with_upserts=size == sizes[0]))
            print(f"{server}: {json.dumps(rows[-1])}", flush=True)
        lookup = await lookup_works(source)
        await source.client.drop_database(DATABASE)
    finally:
        await source.close()
    return {
        "server": server,
        "label": args.label or server,
        "url": settings.mongo_url,
        "runs": args.runs,
        "sizes": rows,
        "lookup": lookup,
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average": round(os.getloadavg()[0], 2),  # the machine's 2 cores may be shared
        "machine": f"{platform.machine()}, {platform.python_version()}",
    }


def section(results: dict[str, dict[str, Any]]) -> str:
    sizes = sorted({row["docs"] for result in results.values() for row in result["sizes"]})
    head = "| server | " + " | ".join(f"`$in` 20 ids, {n:,} docs" for n in sizes)
    head += " | " + " | ".join(f"`$match`+`$group`, {n:,}" for n in sizes[-1:])
    head += " | " + " | ".join(f"100 concurrent upserts, {n:,} docs" for n in sizes[:1]) + " | `$lookup` |"
    lines = [head, "|---" * (head.count("|") - 1) + "|"]
    for result in results.values():
        by = {row["docs"]: row for row in result["sizes"]}
        cells = [f"{by[n]['in_20_ms']:,} ms" if n in by else "–" for n in sizes]
        cells += [f"{by[n]['group_ms']:,} ms" if n in by else "–" for n in sizes[-1:]]
        first = by.get(sizes[0])
        cells += [
            (f"{first['upserts_100_ms']:,} ms" + (f", {first['upsert_duplicate_errors']} duplicate-key errors"))
            if first
            else "–"
        ]
        cells.append("yes" if result["lookup"] else "no")
        lines.append(f"| {result['label']} | " + " | ".join(cells) + " |")
    runs = sorted({r["runs"] for r in results.values()})
    return "\n".join(
        [
            "`bench/mongo_in.py` (command in its docstring): PyMongo's AsyncMongoClient (the gateway's client) against "
            "each server on 127.0.0.1, documents shaped like `product_attributes`; medians of "
            f"{' or '.join(map(str, runs))} runs (the upserts: a third as many rounds of 100, each timed whole). "
            "Every MongoDB read of the gateway's read path is the first column's `find({_id: {$in: ids}})`.",
            "",
            *lines,
            "",
            "- Measured: "
            + "; ".join(
                f"{r['label']} on {r['when']} "
                + (f"(load average {r['load_average']} at its start)" if "load_average" in r else "(load not recorded)")
                for r in results.values()
            )
            + ". The machine's 2 cores were shared with other work (the load average counts it): compare the servers"
            " by their ratios, not by a single figure.",
            "- The upserts race on 10 new ids: a duplicate-key error is a lost race the server did not retry.",
        ]
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--sizes", default="2000,50000", help="collection sizes, comma-separated")
    parser.add_argument("--label", help="the server's name in the table (default: what it reports)")
    parser.add_argument("--write", action="store_true", help="record in bench/results and BENCHMARKS.md")
    parser.add_argument("--report-only", action="store_true", help="rewrite the section from bench/results only")
    arguments = parser.parse_args()
    recorded = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    if not arguments.report_only:
        result = asyncio.run(main(arguments))
        recorded[result["label"]] = result
    if arguments.write or arguments.report_only:
        RESULTS.write_text(json.dumps(recorded, indent=2) + "\n")
        replace_section(ROOT / "BENCHMARKS.md", HEADING, section(recorded))
        print(f"wrote {RESULTS.relative_to(ROOT)} and BENCHMARKS.md ({HEADING})")
