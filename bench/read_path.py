"""Round trips and latency of one user's order page, batched vs naive DataLoaders, for page sizes 1 .. 1000.

    .venv/bin/python bench/read_path.py [--orders 20000] [--reps 15] [--naive-reps 3] [--write]

Data: the synthetic dataset in the gateway_bench MySQL and Mongo databases (reset when they hold anything else);
Neo4j is neither cleared nor written (one database in Community, shared with the demo's MovieLens graph). The page
is synthetic user 1's (over 1,000 orders). One in-process app per mode (httpx ASGITransport, lifespan open):
batched = default settings, naive = ``loader_batching=False`` with longer timeouts (see NAIVE_TIMEOUT_S).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from markdown import replace_section  # bench/ is sys.path[0] when run as a script
from starlette.types import Receive, Scope, Send

from gateway.auth import mint
from gateway.config import Settings
from gateway.http.app import create_app
from gateway.jobs.datasets import synthetic
from gateway.jobs.datasets.rows import Dataset
from gateway.jobs.migrate import downgrade_mysql, upgrade_mysql
from gateway.jobs.seeding import Seeder
from gateway.stores import Source, Sources
from gateway.stores.mongo import schema as m
from gateway.stores.mysql import bulk as mysql_bulk
from gateway.stores.mysql import tables as t

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "read_path.json"  # the raw figures, for bench/plots.py
TABLES = (t.users, t.categories, t.products, t.orders, t.order_items, t.ratings, t.outbox)
SECTION = "## Read path: round trips per page size (batched vs naive)"
STORES = ("mysql", "mongodb", "neo4j")
SIZES = (1, 10, 100, 1000)
NAIVE_TIMEOUT_S = 600.0  # per store call and per request: naive n=1000 takes minutes (defaults: 2 s and 15 s)
USER_ID = 1  # heavy in the synthetic dataset: max(1001, orders // 100) orders from 5,000 orders up
QUERY = (
    "query Page($id: ID!, $n: Int!) { user(id: $id) { id name orders(first: $n) { totalCount nodes { id total "
    "createdAt items { quantity unitPrice product { id title price attributes rating { average count } } } } } "
    "recommendations(limit: 10) { score reason product { id title } } } }"
)


# A bench's load comes from one client: the rate limiter runs (its cost is in every figure) but never refuses.
LIMITS_OUT_OF_REACH: dict[str, Any] = {f"rate_limit_{role}_burst": 10**12 for role in ("guest", "address", "user")}
LIMITS_ENV = {f"GATEWAY_{name.upper()}": str(value) for name, value in LIMITS_OUT_OF_REACH.items()}


def bench_settings(**overrides: Any) -> Settings:
    base = Settings()
    db = base.mysql_url.rsplit("/", 1)[0] + "/gateway_bench"
    values = {**LIMITS_OUT_OF_REACH, **overrides}
    return Settings(mysql_url=db, mongo_database="gateway_bench", graphiql=False, **values)


def expected_counts(ds: Dataset) -> dict[str, int]:
    """Rows per MySQL table and documents per Mongo collection once ``ds`` is seeded (and nothing else)."""
    lines = sum(len(order.items) for order in ds.orders)
    mysql = [len(ds.users), len(ds.categories), len(ds.products), len(ds.orders), lines, len(ds.ratings), 0]
    registry = len({spec.category_id for spec in ds.registry})
    mongo = [len(ds.product_documents), len(ds.products), len(ds.profiles), 0, registry, 0]
    names = [table.name for table in TABLES] + [m.PRODUCT_ATTRIBUTES, m.PRODUCT_METRICS, m.USER_PROFILES, m.EVENTS]
    return dict(zip([*names, m.ATTRIBUTE_REGISTRY, m.FORGOTTEN_USERS], mysql + mongo, strict=True))


async def counts(sources: Sources) -> dict[str, int]:
    found = {table.name: await mysql_bulk.count(sources.mysql, table) for table in TABLES}
    return found | {name: await sources.mongodb.db[name].count_documents({}) for name in m.COLLECTIONS}


async def prepare(settings: Settings, dataset: Dataset) -> list[str]:
    """Bench MySQL + Mongo hold exactly ``dataset`` (reset when they hold anything else); returns server versions."""
    await asyncio.to_thread(upgrade_mysql, settings)  # creates gateway_bench if missing
    sources = Sources.create(settings)
    try:
        await m.ensure_collections(sources.mongodb.db)
        expected, found = expected_counts(dataset), await counts(sources)
        if found != expected and any(found.values()):
            print(f"gateway_bench holds other data ({found}): resetting MySQL and Mongo (not Neo4j)")
            await asyncio.to_thread(downgrade_mysql, settings, "base")
            await asyncio.to_thread(upgrade_mysql, settings)
            for name in m.COLLECTIONS:
                await sources.mongodb.db.drop_collection(name)
            await m.ensure_collections(sources.mongodb.db)
        report = await Seeder(sources, progress=False).seed(dataset, graph=False)
        print(f"seeded {dataset.name} into gateway_bench (Neo4j untouched): {report.writes:,} writes")
        found = await counts(sources)
        if report.problems or found != expected:
            raise SystemExit(f"bench data is not the synthetic dataset: {found} != {expected}; {report.problems[:3]}")
        return await server_versions((sources.mysql, sources.mongodb, sources.neo4j))
    finally:
        await sources.close()


async def server_versions(sources: Iterable[Source]) -> list[str]:
    """Each store's server and version, e.g. ``MariaDB 10.11.19``, in the order given (one call at a time)."""
    return [f"{info.server} {info.version}" for info in [await source.server_info() for source in sources]]


@asynccontextmanager
async def serve(settings: Settings, *, token: str | None = None) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a fresh app with ``settings``, its lifespan open (as tests/http/conftest.py does), signed in
    with ``token``: by default as the page's owner (orders and recommendations are private)."""
    headers = {"Authorization": f"Bearer {token or mint(settings, USER_ID, ttl_s=4 * 3600)}"}
    app = create_app(settings)
    async with app.router.lifespan_context(app) as state:

        async def with_state(scope: Scope, receive: Receive, send: Send) -> None:
            scope["state"] = dict(state or {})
            await app(scope, receive, send)

        transport = httpx.ASGITransport(app=with_state)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw", headers=headers, timeout=None) as http:
            yield http


@dataclass(frozen=True, slots=True)
class Sample:
    ms: float
    trips: dict[str, int]
    batches: dict[str, tuple[int, ...]]  # keys per call, per store
    items: int
    recommendations: int
    null_products: int


async def request(http: httpx.AsyncClient, n: int) -> Sample:
    body = {"query": QUERY, "variables": {"id": str(USER_ID), "n": n}, "extensions": {"explain": True}}
    start = time.perf_counter()
    response = await http.post("/graphql", json=body)
    ms = (time.perf_counter() - start) * 1000
    payload: dict[str, Any] = response.json()
    if response.status_code != 200 or "errors" in payload:
        raise SystemExit(f"n={n}: HTTP {response.status_code}, errors: {str(payload.get('errors'))[:1500]}")
    user = payload["data"]["user"]
    orders = user["orders"]
    if len(orders["nodes"]) != n or orders["totalCount"] < n:
        raise SystemExit(f"n={n}: page has {len(orders['nodes'])} of {orders['totalCount']} orders, wanted {n}")
    sources = payload["extensions"]["explain"]["sources"]
    trips = {store: entry["roundTrips"] for store, entry in sources.items()}
    batches = {store: tuple(call["keyCount"] for call in entry["calls"]) for store, entry in sources.items()}
    recs = user["recommendations"] or []
    items = sum(len(order["items"]) for order in orders["nodes"])
    return Sample(ms, trips, batches, items, len(recs), sum(1 for rec in recs if rec["product"] is None))


def spread(values: list[int]) -> str:
    low, high = min(values), max(values)
    return f"{low:,}" if low == high else f"{low:,}–{high:,}"


def row(mode: str, n: int, samples: list[Sample]) -> str:
    ms = sorted(sample.ms for sample in samples)
    p95 = f"{statistics.quantiles(ms, n=20, method='inclusive')[18]:.1f}" if len(ms) >= 20 else "–"
    trips = " | ".join(spread([sample.trips.get(store, 0) for sample in samples]) for store in STORES)
    items = spread([sample.items for sample in samples])
    return f"| {mode} | {n:,} | {len(ms)} | {trips} | {statistics.median(ms):.1f} | {p95} | {ms[-1]:.1f} | {items} |"


async def run_mode(settings: Settings, mode: str, reps: int) -> dict[int, list[Sample]]:
    results: dict[int, list[Sample]] = {}
    async with serve(settings) as http:
        for n in SIZES:
            await request(http, n)  # warm-up per page size: parse cache, pools; not counted
            results[n] = [await request(http, n) for _ in range(reps)]
            print(f"  {mode} n={n}: done", flush=True)
    return results


def operating_system() -> str:
    """PRETTY_NAME of /etc/os-release (e.g. Debian GNU/Linux 12 (bookworm)) and the kernel release."""
    release = Path("/etc/os-release")
    names = [line.split("=", 1)[1].strip('"') for line in release.read_text().splitlines() if "PRETTY_NAME=" in line]
    return f"{names[0] if names else platform.system()}, Linux {platform.release()}"


def machine() -> str:
    cpuinfo, meminfo = (Path(f"/proc/{name}").read_text().splitlines() for name in ("cpuinfo", "meminfo"))
    cpus = [line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")]
    mem_kb = next(int(line.split()[1]) for line in meminfo if line.startswith("MemTotal:"))
    cpu = f"{cpus[0] if cpus else '?'}, {len(cpus)} cores, {mem_kb / 2**20:.0f} GiB"
    return f"{platform.node()} ({platform.machine()}, {cpu}, {operating_system()}, Python {platform.python_version()})"


def raw_figures(
    args: argparse.Namespace, versions: list[str], runs: dict[str, dict[int, list[Sample]]]
) -> dict[str, Any]:
    """Every (mode, n): reps, round trips per store (median), latency; what bench/plots.py draws."""
    rows = []
    for mode, results in runs.items():
        for n, samples in results.items():
            ms = sorted(sample.ms for sample in samples)
            trips = {store: statistics.median([x.trips.get(store, 0) for x in samples]) for store in STORES}
            rows.append(
                {
                    "mode": mode,
                    "n": n,
                    "reps": len(samples),
                    "round_trips": trips,
                    "p50_ms": round(statistics.median(ms), 1),
                    "max_ms": round(ms[-1], 1),
                    "order_lines": statistics.median([x.items for x in samples]),
                }
            )
    return {
        "command": command(args),
        "date": f"{datetime.now(UTC):%Y-%m-%d}",
        "machine": machine(),
        "versions": versions,
        "orders": args.orders,
        "rows": rows,
    }


def command(args: argparse.Namespace) -> str:
    text = f".venv/bin/python bench/read_path.py --orders {args.orders} --reps {args.reps} "
    return text + f"--naive-reps {args.naive_reps}" + (" --write" if args.write else "")


def interpretation(batched: dict[int, list[Sample]], naive: dict[int, list[Sample]], mongo: str) -> list[str]:
    samples = [sample for n in SIZES for sample in batched[n]]
    varying = [store for store in STORES if len({x.trips.get(store, 0) for x in samples}) > 1]
    per_store = "; ".join(
        f"{store} " + ", ".join(f"{spread([x.trips.get(store, 0) for x in batched[n]])} at n={n:,}" for n in SIZES)
        if store in varying
        else f"{store} {samples[0].trips.get(store, 0)} at every n"
        for store in STORES
    )
    small, big, recs = naive[SIZES[0]][0], naive[SIZES[-1]][0], samples[0]
    lines = [f"- Batched: round trips {'NOT ' if varying else ''}identical across n and reps: {per_store}."]
    for store in varying:
        shapes = {n: sorted({tuple(sorted(x.batches.get(store, ()))) for x in batched[n]}, key=len) for n in SIZES}
        differ = "; ".join(
            f"n={n:,}: " + " or ".join(str(list(shape)) for shape in shapes[n]) for n in SIZES if len(shapes[n]) > 1
        )
        lines.append(f"  {store} keys per call where the count varies: {differ}.")
    if varying and set(varying) <= {"mysql", "mongodb"}:
        lines.append(
            "  Seen in explain: the order lines' products and the recommended ones share the products DataLoader, so "
            "their batches depend on when Neo4j answers: together with the lines (one products statement, not two), or "
            "before them (the recommended products also on the page, then their attributes and rating, go out as "
            "batches of their own). A race between stores, not growth in n."
        )
    ferret = (
        " on SQLite, which pushes down only `_id` equality: every `find({_id: {$in: keys}})`, batched or one-key, "
        "scans the collection, so Mongo time here is pessimistic for a real MongoDB."
    )
    lines += [
        f"- Naive (`loader_batching=False`, one round trip per key) grows linearly with the page: mysql "
        f"{small.trips.get('mysql', 0):,} / mongodb {small.trips.get('mongodb', 0):,} at n={SIZES[0]}, mysql "
        f"{big.trips.get('mysql', 0):,} / mongodb {big.trips.get('mongodb', 0):,} at n={SIZES[-1]:,} "
        f"({big.items:,} order lines: one items read per order, per line a product read and two Mongo reads).",
        f"- MongoDB here is {mongo}{ferret if 'FerretDB' in mongo else '.'}",
        f"- Neo4j Community has one database, shared with the demo's MovieLens graph: user {USER_ID}'s "
        f"recommendations come from MovieLens user {USER_ID} ({recs.recommendations} returned, "
        f"{recs.null_products} with a product missing from the bench MySQL, hence null). Latency is in-process "
        "(httpx ASGITransport, no socket to the gateway), explain on.",
    ]
    return lines


def write_section(args: argparse.Namespace, versions: list[str], body: str) -> None:
    text = (
        f"`{command(args)}` on {datetime.now(UTC):%Y-%m-%d}, {machine()}; {', '.join(versions)}. One "
        f"request: user {USER_ID}'s page of n orders (synthetic, {args.orders:,} orders) with every order line's "
        "product (MySQL), its attributes and rating (MongoDB), and 10 recommendations (Neo4j). Round trips from "
        "`extensions.explain`, per request; each (mode, n) has one untimed warm-up; p95 only from 20 reps. Batched: "
        f"default settings; naive: `loader_batching=False`, `source_timeout_s` and `request_timeout_s` "
        f"{NAIVE_TIMEOUT_S:g} (at the defaults, 2 s and 15 s, its one-key reads time out from n=100).\n\n" + body
    )
    replace_section(ROOT / "BENCHMARKS.md", SECTION, text)  # this section only; the contents regenerated


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--naive-reps", type=int, default=3)
    parser.add_argument("--write", action="store_true", help="replace (or add) this bench's section in BENCHMARKS.md")
    args = parser.parse_args()
    if synthetic.heavy_orders_each(args.orders) < SIZES[-1]:
        raise SystemExit(f"--orders {args.orders} gives user {USER_ID} fewer than {SIZES[-1]} orders")
    versions = await prepare(bench_settings(), synthetic.generate(orders=args.orders))
    # Round trips to the stores themselves: the entity cache is off (bench/cache.py measures it).
    batched = await run_mode(bench_settings(entity_cache=False), "batched", args.reps)
    slow = bench_settings(
        entity_cache=False, loader_batching=False, source_timeout_s=NAIVE_TIMEOUT_S, request_timeout_s=NAIVE_TIMEOUT_S
    )
    naive = await run_mode(slow, "naive", args.naive_reps)
    table = [
        "| mode | n | reps | mysql | mongodb | neo4j | p50 ms | p95 ms | max ms | order lines |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    table += [row("batched", n, batched[n]) for n in SIZES] + [row("naive", n, naive[n]) for n in SIZES]
    notes = interpretation(batched, naive, versions[1])
    plot = "![round trips per store against the page size, batched and naive](bench/plots/read-path-round-trips.png)"
    body = "\n".join([*table, "", *notes, "", plot]) + "\n"
    print(body)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    figures = raw_figures(args, versions, {"batched": batched, "naive": naive})
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"raw figures: {RESULTS.relative_to(ROOT)}")
    if args.write:
        write_section(args, versions, body)
        print("BENCHMARKS.md updated")


if __name__ == "__main__":
    asyncio.run(main())
