"""p50 / p99 of the three main pages at 10k, 100k and 1M synthetic orders over real HTTP, and the gateway's memory.

    .venv/bin/python bench/scale.py [--sizes 10000,100000,1000000] [--connections 4] [--ids 100] [--requests 200]
        [--cache off,on,off-raised] [--pages product,user,order] [--no-explain] [--seed-only] [--report-only]
        [--services scripts/services] [--state-dir .services-scale] [--keep-up] [--write]

Every size has its own server set, started with scripts/services on other ports (SCALE_PORTS, moved by
GATEWAY_SCALE_PORTS) and its own state
directory (``--state-dir``/SIZE, git-ignored): the shared set's Neo4j is one graph holding the demo's and the
tests' MovieLens data, and must not get synthetic nodes. A set holds one dataset only, so its data stays between
runs: a size already seeded is checked (row, document, node and edge counts) and not seeded again; one seeded in
part (an interrupted run) is completed by the idempotent seeder. The sets share ports, so one runs at a time:
each is stopped once measured (``--keep-up`` leaves the last one running; stop it with
``GATEWAY_SERVICES_DIR=.services-scale/SIZE <the same GATEWAY_*_URL variables> scripts/services down``).

Per size and per mode (MODES: entity cache off, on, and off with the store bounds raised; the response cache is off,
these are not persisted queries) one ``gateway serve`` process serves the pages of bench/pages.py; for each page,
``--ids`` ids spread over the data (users 1-3, the heavy ones, apart: their own row), an untimed pass over them
(which fills the entity cache when it is on), then ``--requests`` requests over ``--connections`` connections.
Errors are counted apart and never become latencies. The gateway's RSS and CPU are sampled during the load.
Afterwards, with the cache off, a few requests per page with explain (one at a time, in a gateway whose timeouts
are raised to LONG_TIMEOUT_S so a slow store shows its time) give each store's time, and the stores' own plans
(plans.py) say why.
Results go to bench/results/scale.json (merged per size and mode: a run of some sizes or modes keeps the others'
figures); ``--report-only --write`` rewrites BENCHMARKS.md's section from it without measuring.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import load
import pages
from cache import cancelled_by_sigterm, free_port, stop, wait_ready
from markdown import replace_section
from plans import sql, store_plans
from read_path import (
    LIMITS_ENV,
    counts,
    expected_counts,
    machine,
    server_versions,
)  # bench/ is sys.path[0] when run as a script
from scale_report import section
from seeding import TimedSeeder

from gateway.config import Settings
from gateway.jobs.datasets import synthetic
from gateway.jobs.datasets.rows import Dataset
from gateway.jobs.migrate import ensure_document_and_graph_schema, upgrade_mysql
from gateway.stores import Sources

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results" / "scale.json"
SECTION = "Scale: the three main pages at 10k, 100k and 1M orders"
# GATEWAY_SCALE_PORTS=MYSQL,REDIS,MONGODB,NEO4J moves the sets' ports (where another checkout runs a set on these).
SCALE_PORTS = dict(
    zip(
        ("mysql", "redis", "mongodb", "neo4j"),
        (int(port) for port in os.environ.get("GATEWAY_SCALE_PORTS", "3308,6381,27019,7689").split(",")),
        strict=True,
    )
)
HEAVY = "user (heavy)"  # users 1-3's page: over 1,000 orders each
# The gateway process's settings per mode (the rest are the defaults). off-raised: the stores' and the request's
# bounds raised so that at 1M orders slow reads are measured instead of answered TIMEOUT (and opening breakers).
MODES = {
    "off": {"GATEWAY_ENTITY_CACHE": "false"},
    "on": {"GATEWAY_ENTITY_CACHE": "true"},
    "off-raised": {
        "GATEWAY_ENTITY_CACHE": "false",
        "GATEWAY_SOURCE_TIMEOUT_S": "60",
        "GATEWAY_REQUEST_TIMEOUT_S": "120",
    },
}
EXPLAINED = 5  # explained requests per page and size
# The bench's own store calls (seeding, counts, plans) and the explained requests: long enough that a slow store
# is measured, not cut off (bulk reads at 1M orders take seconds; the gateway's default bound is 2 s).
LONG_TIMEOUT_S = 120.0
READY_S = 120.0
STOP_S = 30.0  # `gateway serve`'s graceful shutdown, before SIGKILL
GRAPH_COUNTS = {
    "User": "MATCH (n:User) RETURN count(n) AS n",
    "Product": "MATCH (n:Product) RETURN count(n) AS n",
    "Category": "MATCH (n:Category) RETURN count(n) AS n",
    "RATED": "MATCH ()-[r:RATED]->() RETURN count(r) AS n",
    "PURCHASED": "MATCH ()-[r:PURCHASED]->() RETURN count(r) AS n",
    "IN_CATEGORY": "MATCH ()-[r:IN_CATEGORY]->() RETURN count(r) AS n",
    "SUBCATEGORY_OF": "MATCH ()-[r:SUBCATEGORY_OF]->() RETURN count(r) AS n",
}


# -- the server set -------------------------------------------------------------------------------------------


def set_env(state: Path) -> dict[str, str]:
    """The GATEWAY_* variables of one size's server set: scripts/services and the gateway read the same."""
    return {
        "GATEWAY_SERVICES_DIR": str(state),
        "GATEWAY_MYSQL_URL": f"mysql+asyncmy://gateway@127.0.0.1:{SCALE_PORTS['mysql']}/gateway",
        "GATEWAY_REDIS_URL": f"redis://127.0.0.1:{SCALE_PORTS['redis']}/0",
        "GATEWAY_MONGO_URL": f"mongodb://127.0.0.1:{SCALE_PORTS['mongodb']}/",
        "GATEWAY_MONGO_DATABASE": "gateway",
        "GATEWAY_NEO4J_URL": f"bolt://127.0.0.1:{SCALE_PORTS['neo4j']}",
    }


def set_settings(env: dict[str, str]) -> Settings:
    """Settings for the bench's own calls to the set (seeding, counts, plans): with LONG_TIMEOUT_S."""
    return Settings(
        source_timeout_s=LONG_TIMEOUT_S,
        mysql_url=env["GATEWAY_MYSQL_URL"],
        redis_url=env["GATEWAY_REDIS_URL"],
        mongo_url=env["GATEWAY_MONGO_URL"],
        mongo_database=env["GATEWAY_MONGO_DATABASE"],
        neo4j_url=env["GATEWAY_NEO4J_URL"],
        graphiql=False,
    )


def services(script: Path, env: dict[str, str], *args: str) -> None:
    done = subprocess.run([str(script), *args], env={**os.environ, **env}, capture_output=True, text=True)
    print("\n".join(f"    {line}" for line in (done.stdout + done.stderr).strip().splitlines()), flush=True)
    if done.returncode != 0:
        raise SystemExit(f"{script} {' '.join(args)} failed ({done.returncode})")


# -- the data -------------------------------------------------------------------------------------------------


def expected_graph(ds: Dataset) -> dict[str, int]:
    return {
        "User": len(ds.users),
        "Product": len(ds.products),
        "Category": len(ds.categories),
        "RATED": len(ds.ratings),
        "PURCHASED": sum(len(o.items) for o in ds.orders if o.status != "cancelled"),
        "IN_CATEGORY": sum(len(p.category_ids) for p in ds.products),
        "SUBCATEGORY_OF": sum(1 for c in ds.categories if c.parent_id is not None),
    }


async def graph_counts(sources: Sources) -> dict[str, int]:
    found = {}
    for name, cypher in GRAPH_COUNTS.items():
        result = await sources.neo4j.driver.execute_query(cypher, database_=sources.neo4j.database)
        found[name] = int(result.records[0]["n"])
    return found


async def prepare(settings: Settings, orders: int) -> tuple[dict[str, Any] | None, dict[str, int], list[str]]:
    """The set holds exactly the synthetic ``orders`` dataset: seeded now (its timings) or found already (None)."""
    start = time.perf_counter()
    dataset = synthetic.generate(orders=orders)
    generate_s = time.perf_counter() - start
    await asyncio.to_thread(upgrade_mysql, settings)
    sources = Sources.create(settings)
    try:
        await ensure_document_and_graph_schema(sources)
        expected = expected_counts(dataset) | expected_graph(dataset)
        found = await counts(sources) | await graph_counts(sources)
        seeded = None
        if found != expected:
            print(f"  seeding {dataset.name} (found {sum(found.values()):,} rows, documents, nodes and edges)")
            seeder = TimedSeeder(sources, progress=sys.stderr.isatty())
            report = await seeder.seed(dataset)
            if report.problems:
                raise SystemExit(f"seeding reported problems: {report.problems[:3]}")
            found = await counts(sources) | await graph_counts(sources)
            written = {store: sum(t.written for t in report.tallies if t.store == store) for store in seeder.seconds}
            seeded = {
                "generate_s": round(generate_s, 1),
                "seconds": {store: round(s, 1) for store, s in seeder.seconds.items()},
                "written": written,
                "resumed": any(t.written < t.rows for t in report.tallies),  # part was there already
            }
        if found != expected:
            raise SystemExit(f"the set does not hold {dataset.name}: {found} != {expected}")
        versions = await server_versions((sources.mysql, sources.mongodb, sources.neo4j, sources.redis))
        return seeded, found, versions
    finally:
        await sources.close()


async def pick(settings: Settings, orders: int, count: int) -> dict[str, list[pages.Request]]:
    """The requests of each page: ids spread over the data (fixed seeds), the order pages sent as their owners."""
    users = max(50, orders // 20)
    products = max(100, min(50_000, orders // 20))
    user_ids = pages.spread(range(len(synthetic.HEAVY_USERS) + 1, users + 1), count, seed=2)
    order_ids = pages.spread(range(1, orders + 1), count, seed=3)
    sources = Sources.create(settings)
    try:
        rows = await sql(sources, f"SELECT id, user_id FROM orders WHERE id IN ({', '.join(map(str, order_ids))})")
    finally:
        await sources.close()
    owner = {int(r["id"]): int(r["user_id"]) for r in rows}
    return {
        "product": [pages.request("product", p) for p in pages.spread(range(1, products + 1), count, seed=1)],
        "user": [pages.request("user", u, settings=settings) for u in user_ids],
        "order": [pages.request("order", o, owner=owner[o], settings=settings) for o in order_ids],
        HEAVY: [pages.request("user", u, settings=settings) for u in synthetic.HEAVY_USERS],
    }


# -- the gateway ----------------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def gateway(env: dict[str, str], log: Path) -> AsyncIterator[tuple[str, int]]:
    """`gateway serve` on a free port with ``env``, once /ready answers 200: its URL and pid. Stopped on leaving
    (bench/cache.py's stop); its ``log`` is kept."""
    port = free_port()
    command = [str(Path(sys.executable).with_name("gateway")), "serve"]
    environment = {**os.environ, **LIMITS_ENV, **env, "GATEWAY_PORT": str(port)}
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        proc = subprocess.Popen(command, env=environment, stdout=out, stderr=subprocess.STDOUT)  # noqa: ASYNC220
    url = f"http://127.0.0.1:{port}"
    try:
        await wait_ready("gateway serve", url + "/ready", proc, log, READY_S)
        yield url, proc.pid
    finally:
        stop("gateway", proc, log, STOP_S, keep_log=True)


async def explained(url: str, requests: list[pages.Request]) -> dict[str, Any]:
    """Per store: median time (ms) and round trips over a few explained requests, one at a time."""
    per_store: dict[str, list[float]] = {}
    trips: dict[str, list[int]] = {}
    ms: list[float] = []
    errors: Counter[str] = Counter()
    async with httpx.AsyncClient(base_url=url, timeout=60.0) as http:
        for req in requests[:EXPLAINED]:
            outcome = await pages.send(http, req, explain=True)
            if outcome.error or not outcome.explain:
                errors[outcome.error or "no explain"] += 1
                continue
            ms.append(outcome.ms)
            for store, entry in outcome.explain.get("sources", {}).items():
                per_store.setdefault(store, []).append(float(entry["timeMs"]))
                trips.setdefault(store, []).append(int(entry["roundTrips"]))
    return {
        "requests": len(ms),
        "errors": dict(errors),
        "ms": round(statistics.median(ms), 1) if ms else None,
        "stores": {s: round(statistics.median(v), 1) for s, v in sorted(per_store.items())},
        "round_trips": {s: statistics.median(v) for s, v in sorted(trips.items())},
    }


async def measure_mode(
    env: dict[str, str], cache: str, requests: dict[str, list[pages.Request]], args: argparse.Namespace, log: Path
) -> dict[str, Any]:
    mode_env = {
        **env,
        **MODES[cache],
        "GATEWAY_RESPONSE_CACHE": "false",
        "GATEWAY_CACHE_NAMESPACE": f"scale{int(time.time())}",  # a cold entity cache per run, nothing to flush
        "GATEWAY_GRAPHIQL": "false",
        "GATEWAY_RELAY_IN_SERVE": "false",
        "GATEWAY_LOG_LEVEL": "warning",
    }
    out: dict[str, Any] = {
        "pages": {},
        "warmup_errors": {},
        "env": MODES[cache],
        "settings": {k: getattr(args, k) for k in ("connections", "ids", "requests", "heavy_rounds", "pages")},
        "command": command_line(args),
        "date": f"{datetime.now(UTC):%Y-%m-%d}",
    }
    async with gateway(mode_env, log) as (url, pid):
        out["rss_idle_mib"] = round(load.rss_kib(pid) / 1024, 1)
        for kind, pool in requests.items():
            if kind not in args.pages:
                continue
            heavy = kind == HEAVY
            connections = 1 if heavy else args.connections
            warm = await load.run(url, pool, connections, pid)  # untimed: pools, parse cache, the entity cache
            if warm.errors:
                out["warmup_errors"][kind] = dict(warm.errors)
            total = len(pool) * args.heavy_rounds if heavy else args.requests
            result = await load.run(url, pages.schedule(pool, total, seed=4), connections, pid)
            out["pages"][kind] = result.figures()
            f = out["pages"][kind]
            print(
                f"    cache {cache} {kind}: {f['ok']}/{f['requests']} ok, p50 {f['p50_ms']} ms, p99 {f['p99_ms']} "
                f"ms, {f['rps']} req/s, gateway CPU {f['cpu_share']}, RSS peak {f['rss_peak_mib']} MiB; errors "
                f"{f['errors'] or 0}",
                flush=True,
            )
        out["rss_end_mib"] = round(load.rss_kib(pid) / 1024, 1)
    return out


async def explain_pages(
    env: dict[str, str], requests: dict[str, list[pages.Request]], log: Path
) -> dict[str, dict[str, Any]]:
    """Each page's store times, one request at a time, cache off, in a gateway whose store and request bounds are
    raised (GATEWAY_SOURCE_TIMEOUT_S, GATEWAY_REQUEST_TIMEOUT_S): a slow store shows its time, not a TIMEOUT."""
    slow = {
        **env,
        "GATEWAY_ENTITY_CACHE": "false",
        "GATEWAY_RESPONSE_CACHE": "false",
        "GATEWAY_SOURCE_TIMEOUT_S": f"{LONG_TIMEOUT_S:g}",
        "GATEWAY_REQUEST_TIMEOUT_S": f"{LONG_TIMEOUT_S:g}",
        "GATEWAY_GRAPHIQL": "false",
        "GATEWAY_LOG_LEVEL": "warning",
    }
    async with gateway(slow, log) as (url, _pid):
        return {kind: await explained(url, pool) for kind, pool in requests.items()}


# -- the run --------------------------------------------------------------------------------------------------


async def run_size(orders: int, args: argparse.Namespace, previous: dict[str, Any]) -> dict[str, Any]:
    state = args.state_dir / str(orders)
    env = set_env(state)
    settings = set_settings(env)
    print(f"{orders:,} orders: server set in {state}", flush=True)
    services(args.services, env, "up")
    try:
        seeded, found, versions = await prepare(settings, orders)
        entry: dict[str, Any] = {
            "orders": orders,
            "date": f"{datetime.now(UTC):%Y-%m-%d}",
            "machine": machine(),
            "versions": versions,
            "settings": {k: getattr(args, k) for k in ("connections", "ids", "requests", "heavy_rounds")},
            "data": found,
            "disk_mib": disk_mib(state),
            "seed": seeded or previous.get("seed"),
            "seeded_this_run": seeded is not None,
        }
        if args.seed_only:
            return entry
        requests = await pick(settings, orders, args.ids)
        sources = Sources.create(settings)
        try:
            entry["plans"] = await store_plans(
                sources,
                users=[r.key for r in requests["user"]],
                products=[r.key for r in requests["product"]],
                orders=[r.key for r in requests["order"]],
            )
        finally:
            await sources.close()
        # a run of some modes keeps the others' figures, each with the command and date that measured it
        entry["modes"] = dict(previous.get("modes", {}))
        for cache in args.cache:
            log = state / "log" / f"gateway-scale-{cache}.log"
            entry["modes"][cache] = await measure_mode(env, cache, requests, args, log)
        if args.explain:
            entry["explain"] = await explain_pages(env, requests, state / "log" / "gateway-scale-explain.log")
        elif "explain" in previous:
            entry["explain"] = previous["explain"]
        return entry
    finally:
        if not args.keep_up or orders != args.sizes[-1]:
            services(args.services, env, "down")


def disk_mib(state: Path) -> dict[str, float]:
    """Each store's data on disk (MySQL's datadir, the MongoDB server's files, Neo4j's store), in MiB."""
    dirs = {"mysql": state / "mysql" / "data", "mongodb": state / "mongodb", "neo4j": state / "neo4j" / "data"}
    return {
        store: round(sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20, 1)
        for store, path in dirs.items()
        if path.exists()
    }


def load_results() -> dict[str, Any]:
    return json.loads(RESULTS.read_text()) if RESULTS.exists() else {"sizes": {}}


def save_results(results: dict[str, Any]) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")


def listed(text: str, kind: type = int) -> list[Any]:
    values = [kind(part) for part in text.split(",") if part.strip()]
    if not values:
        raise argparse.ArgumentTypeError("a comma-separated list")
    return values


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=listed, default=[10_000, 100_000, 1_000_000], help="orders, e.g. 10000,1000000")
    parser.add_argument("--connections", type=int, default=4, help="concurrent connections per page (default 4)")
    parser.add_argument("--ids", type=int, default=100, help="ids per page, spread over the data")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per page and cache mode")
    parser.add_argument("--heavy-rounds", type=int, default=3, help="timed requests per heavy user (one at a time)")
    parser.add_argument("--cache", type=lambda s: listed(s, str), default=["off", "on"], help="off,on,off-raised")
    parser.add_argument("--explain", action=argparse.BooleanOptionalAction, default=True, help="the explained pass")
    parser.add_argument("--pages", type=lambda s: listed(s, str), default=[*pages.KINDS, HEAVY], help="pages to load")
    parser.add_argument("--services", type=Path, default=ROOT / "scripts" / "services", help="scripts/services")
    parser.add_argument("--state-dir", type=Path, default=ROOT / ".services-scale", help="one subdirectory per size")
    parser.add_argument("--keep-up", action="store_true", help="leave the last size's server set running")
    parser.add_argument("--seed-only", action="store_true", help="seed (and check) the sizes, measure nothing")
    parser.add_argument("--write", action="store_true", help="replace this bench's section in BENCHMARKS.md")
    parser.add_argument("--report-only", action="store_true", help="print (and --write) the figures already measured")
    args = parser.parse_args()
    if set(args.cache) - set(MODES):
        parser.error(f"--cache takes some of {', '.join(MODES)}")
    args.state_dir = args.state_dir.resolve()
    logging.getLogger("neo4j.notifications").setLevel(logging.ERROR)  # "relationship type does not exist" on a new set
    results = load_results()
    with cancelled_by_sigterm():  # SIGTERM cancels the run: the gateway and the server set are stopped
        for orders in [] if args.report_only else args.sizes:
            previous = results["sizes"].get(str(orders), {})
            entry = await run_size(orders, args, previous)
            if args.seed_only:  # keep the measured figures, refresh the seed's
                kept = ("seed", "data", "disk_mib", "seeded_this_run")
                entry = {**previous, **{k: v for k, v in entry.items() if k in kept}}
            entry["command"] = command_line(args)
            results["sizes"][str(orders)] = entry
            save_results(results)
    body = section(results)
    print(body)
    if args.write:
        replace_section(ROOT / "BENCHMARKS.md", SECTION, body)
        print("BENCHMARKS.md updated")


def command_line(args: argparse.Namespace) -> str:
    """The command that measured a size (``--services`` and ``--state-dir`` are this machine's paths: left out)."""
    sizes = ",".join(map(str, args.sizes))
    text = f".venv/bin/python bench/scale.py --sizes {sizes} --connections {args.connections} --ids {args.ids} "
    text += f"--requests {args.requests} --heavy-rounds {args.heavy_rounds} --cache {','.join(args.cache)}"
    text += "" if args.explain else " --no-explain"
    text += "" if args.pages == [*pages.KINDS, HEAVY] else f" --pages '{','.join(args.pages)}'"
    return text + (" --seed-only" if args.seed_only else "") + (" --write" if args.write else "")


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except (asyncio.CancelledError, KeyboardInterrupt):
        raise SystemExit("stopped (the gateway was stopped, and the server set unless --keep-up)") from None
