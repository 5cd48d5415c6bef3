"""A burst of mixed writes through the GraphQL API while relays drain the outbox: writes/s, orders/s, outbox lag.

    .venv/bin/python bench/writes.py [--writes 10000] [--concurrency 32] [--relays 2] [--relay-batch 200] [--write]

bench/read_path.py's synthetic data in gateway_bench (MySQL, Mongo), every product stocked, order ids from
BENCH_ORDER_IDS, outbox emptied. One in-process app takes ``concurrency`` requests at a time: ~70% createOrder
(1–3 products, quantity 1–2, random users), ~15% updateOrderStatus PAID (admin), ~15% cancelOrder (owner) of an
order the bench believes pending (raced picks get a CONFLICT: expected). ``--relays`` relays run as processes of
their own (``gateway relay``), at the settings' batch size unless ``--relay-batch`` says otherwise. No ratings:
RATED edges would overwrite MovieLens'. Neo4j is shared with the demo graph: afterwards the bench's PURCHASED edges
and the nodes it created are deleted (also on an error, ^C or SIGTERM).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from markdown import replace_section  # bench/ is sys.path[0] when run as a script
from read_path import bench_settings, machine, prepare, serve

from gateway.auth import mint
from gateway.config import Settings
from gateway.jobs.datasets import synthetic
from gateway.stores import Sources
from gateway.stores.mysql import outbox as mysql_outbox
from gateway.stores.neo4j import bulk as neo4j_bulk

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## Writes: a burst of mixed writes, and outbox lag"
STOCK = 1_000_000
BENCH_ORDER_IDS = 10_000_000  # above every order id of the demo graph's PURCHASED edges
MOVIELENS_MAX = {"User": 943, "Product": 1682}
ADMIN_ID = 1  # any seeded user: the role makes the admin
STALL_S = 60.0  # fail when no outbox event is processed for this long
CREATE = "mutation ($items: [OrderLineInput!]!, $key: String!) { createOrder(input: {items: $items}, "
CREATE += "idempotencyKey: $key) { id } }"
PAY = "mutation ($id: ID!) { updateOrderStatus(id: $id, status: PAID) { id status } }"
CANCEL = "mutation ($id: ID!) { cancelOrder(id: $id) { id status } }"
KINDS = ("createOrder", "updateOrderStatus", "cancelOrder")


async def sql(sources: Sources, statement: str) -> list[tuple[Any, ...]]:
    """Plain SQL on the bench database (the bench imports no driver: ruff TID251)."""
    async with sources.mysql.engine.begin() as conn:
        result = await conn.exec_driver_sql(statement)
        return [tuple(row) for row in result] if result.returns_rows else []


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


@dataclass(slots=True)
class Burst:
    ms: dict[str, list[float]] = field(default_factory=lambda: {kind: [] for kind in KINDS})
    ok: Counter[str] = field(default_factory=Counter)
    conflicts: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)  # "kind CODE"
    seconds: float = 0.0
    cpu_s: float = 0.0
    peak_backlog: int = 0


async def burst(http: httpx.AsyncClient, settings: Settings, args: argparse.Namespace, out: Burst) -> None:
    rng, run = random.Random(args.seed), f"bench-{time.time_ns():x}"
    pending: list[tuple[int, int]] = []  # (order id, owner) created by the bench and, as far as it knows, pending
    slots = iter(range(args.writes))

    @functools.cache
    def auth(user: int, admin: bool = False) -> dict[str, str]:
        return {"Authorization": f"Bearer {mint(settings, user, roles=('admin',) if admin else (), ttl_s=4 * 3600)}"}

    async def one(i: int) -> None:
        roll, target = rng.random(), None
        if roll < 0.70 or not pending:
            kind, user, lines = KINDS[0], rng.choice(args.users), rng.sample(args.products, rng.randint(1, 3))
            items = [{"productId": str(p), "quantity": rng.randint(1, 2)} for p in lines]
            body: dict[str, Any] = {"query": CREATE, "variables": {"items": items, "key": f"{run}-{i:07d}"}}
            headers = auth(user)
        else:
            target = rng.choice(pending)
            kind = KINDS[1] if roll < 0.85 else KINDS[2]
            body = {"query": PAY if kind == KINDS[1] else CANCEL, "variables": {"id": str(target[0])}}
            headers = auth(ADMIN_ID, admin=True) if kind == KINDS[1] else auth(target[1])
        start = time.perf_counter()
        response = await http.post("/graphql", json=body, headers=headers)
        out.ms[kind].append((time.perf_counter() - start) * 1000)
        try:
            payload: dict[str, Any] = response.json()
        except ValueError:
            payload = {}
        codes = [str((e.get("extensions") or {}).get("code", "NO_CODE")) for e in payload.get("errors") or []]
        codes = codes or ([] if response.status_code == 200 else [f"HTTP {response.status_code}"])
        if not codes:
            out.ok[kind] += 1
            if target is None:
                pending.append((int(payload["data"]["createOrder"]["id"]), user))
            elif target in pending:
                pending.remove(target)
        elif target is not None and codes == ["CONFLICT"]:
            out.conflicts[kind] += 1  # two picks of one order raced: the second status change is refused
        else:
            out.errors.update(f"{kind} {code}" for code in codes)

    async def worker() -> None:
        for i in slots:
            await one(i)

    start, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(args.concurrency)))
    out.seconds, out.cpu_s = time.perf_counter() - start, time.process_time() - cpu


async def watch(sources: Sources, out: Burst, done: asyncio.Event) -> None:
    while not done.is_set():
        out.peak_backlog = max(out.peak_backlog, (await mysql_outbox.lag(sources.mysql, 10.0)).pending)
        await asyncio.sleep(1.0)


async def settle(sources: Sources) -> float:
    """Wait until no event is pending (fail when none is processed for STALL_S); the seconds it took."""
    start = progress = time.perf_counter()
    least = None
    while (lag := await mysql_outbox.lag(sources.mysql, 10.0)).pending:
        if least is None or lag.pending < least:
            least, progress = lag.pending, time.perf_counter()
        if time.perf_counter() - progress > STALL_S:
            raise SystemExit(f"outbox stalled: nothing processed for {STALL_S:g} s: {lag}")
        await asyncio.sleep(0.1)
    return time.perf_counter() - start


async def clean_graph(sources: Sources, before: dict[str, set[Any]], *, nodes: bool = True) -> str:
    """Delete the bench's PURCHASED edges, then the nodes it created: above MovieLens' ids, new, unconnected."""
    edges = 0
    cypher = "MATCH ()-[e:PURCHASED]->() WHERE e.order_id >= $low WITH e LIMIT 5000 DELETE e"
    while deleted := await neo4j_bulk.run(sources.neo4j, cypher, low=BENCH_ORDER_IDS):
        edges += deleted
    if not nodes:
        return f"Neo4j cleaned: {edges:,} PURCHASED edges of an earlier run deleted"
    created = await neo4j_bulk.run(
        sources.neo4j,
        "MATCH (n) WHERE ((n:User AND n.id > $users AND NOT n.id IN $had_users) OR (n:Product AND n.id > $products "
        "AND NOT n.id IN $had_products)) AND NOT (n)--() DELETE n",
        users=MOVIELENS_MAX["User"],
        products=MOVIELENS_MAX["Product"],
        had_users=sorted(before["User"]),
        had_products=sorted(before["Product"]),
    )
    return f"Neo4j cleaned: {edges:,} PURCHASED edges and {created} User / Product nodes of the bench's deleted"


def relay_process(settings: Settings, batch: int) -> subprocess.Popen[bytes]:
    """``gateway relay`` on the bench's databases, in a process of its own (as deployed: beside the app, not in the
    process that serves the burst and runs its client)."""
    env = {
        **os.environ,
        "GATEWAY_MYSQL_URL": settings.mysql_url,
        "GATEWAY_MONGO_DATABASE": settings.mongo_database,
        "GATEWAY_REDIS_URL": settings.redis_url,
        "GATEWAY_RELAY_BATCH_SIZE": str(batch),
        "GATEWAY_LOG_LEVEL": "warning",
    }
    return subprocess.Popen([sys.executable, "-m", "gateway.cli", "relay"], env=env, stdin=subprocess.DEVNULL)


async def run(args: argparse.Namespace) -> tuple[list[str], str]:
    settings, dataset = bench_settings(), synthetic.generate(orders=args.orders)
    versions = await prepare(settings, dataset)
    args.users, args.products = [u.id for u in dataset.users], [p.id for p in dataset.products]
    print(f"synthetic ids: users 1..{max(args.users)}, products 1..{max(args.products)}; MovieLens: {MOVIELENS_MAX}")
    admin, before = Sources.create(settings), None
    try:
        # Edges an interrupted earlier run left behind go first, so its nodes are not taken for someone else's.
        print("before the run:", await clean_graph(admin, {label: set() for label in MOVIELENS_MAX}, nodes=False))
        before = {label: await neo4j_bulk.key_set(admin.neo4j, label) for label in MOVIELENS_MAX}
        await sql(admin, f"UPDATE inventory SET quantity = {STOCK}")
        if (await sql(admin, "SELECT COALESCE(MAX(id), 0) FROM orders"))[0][0] < BENCH_ORDER_IDS:
            await sql(admin, f"ALTER TABLE orders AUTO_INCREMENT = {BENCH_ORDER_IDS}")
        await sql(admin, "DELETE FROM outbox")
        done = asyncio.Event()
        relays = [relay_process(settings, args.relay_batch) for _ in range(args.relays)]
        try:
            async with serve(settings) as http:
                result = Burst()
                watcher = asyncio.create_task(watch(admin, result, done))
                await burst(http, settings, args, result)
                done.set()
                await watcher
                tail_s = await settle(admin)
        finally:
            for process in relays:
                process.terminate()  # `gateway relay` finishes its round and exits on SIGTERM
            for process in relays:
                process.wait(60)
        rows = await sql(
            admin,
            "SELECT event_type, TIMESTAMPDIFF(MICROSECOND, created_at, processed_at) / 1000, parked_at IS NOT NULL, "
            "UNIX_TIMESTAMP(created_at), UNIX_TIMESTAMP(processed_at), attempts FROM outbox",
        )
    finally:
        if before is not None:
            print(await clean_graph(admin, before))
        await admin.close()
    unprocessed = [r for r in rows if r[1] is None or r[2]]
    if not rows or unprocessed:
        raise SystemExit(f"{len(unprocessed)} of {len(rows)} events unprocessed or parked: {unprocessed[:5]}")
    return versions, report(args, versions, result, rows, tail_s)


def report(args: argparse.Namespace, versions: list[str], b: Burst, rows: list[tuple[Any, ...]], tail_s: float) -> str:
    every = [ms for kind in KINDS for ms in b.ms[kind]]
    ok = sum(b.ok.values())
    lag = {kind: [float(r[1]) / 1000 for r in rows if r[0] == kind] for kind in sorted({r[0] for r in rows})}
    all_lag = [float(r[1]) / 1000 for r in rows]
    span = float(max(r[4] for r in rows) - min(r[3] for r in rows))
    retried = sum(1 for r in rows if r[5])
    lines = [
        "| writes | ok | writes/s (ok) | orders/s | p50 ms | p99 ms | events | lag p50 s | lag p99 s | lag max s "
        "| relay events/s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {len(every):,} | {ok:,} | {ok / b.seconds:.0f} | {b.ok[KINDS[0]] / b.seconds:.0f} | {pct(every, 50):.0f} "
        f"| {pct(every, 99):.0f} | {len(rows):,} | {pct(all_lag, 50):.1f} | {pct(all_lag, 99):.1f} "
        f"| {max(all_lag):.1f} | {len(rows) / span:.0f} |",
        "",
        "| mutation | requests | ok | CONFLICT (raced) | errors | p50 ms | p99 ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for kind, ms in b.ms.items():
        errs = sum(n for key, n in b.errors.items() if key.startswith(kind))
        lines.append(f"| {kind} | {len(ms):,} | {b.ok[kind]:,} | {b.conflicts[kind]:,} | {errs:,} | {pct(ms, 50):.0f} ")
        lines[-1] += f"| {pct(ms, 99):.0f} |"
    lines += ["", "| outbox event | events | lag p50 s | lag p99 s | lag max s |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {k} | {len(v):,} | {pct(v, 50):.1f} | {pct(v, 99):.1f} | {max(v):.1f} |" for k, v in lag.items()]
    errors = ", ".join(f"{key} ×{n}" for key, n in b.errors.most_common()) or "none"
    ferret = "FerretDB" in versions[1]
    lines += [
        "",
        f"- Burst: {len(every):,} requests in {b.seconds:.1f} s, {args.concurrency} at a time; errors (other than "
        f"CONFLICT on a raced pick): {errors}. One Python process runs the app and the client (it used "
        f"{b.cpu_s / b.seconds:.0%} of a core during the burst), {args.relays} `gateway relay` processes the "
        "outbox; latency is in-process (httpx "
        "ASGITransport, no socket), from sending the request to its whole answer.",
        f"- Outbox: all {len(rows):,} events processed, none parked, {retried} retried. The relays applied "
        f"{len(rows) / span:.0f} events/s against {ok / b.seconds:.0f} writes/s; the backlog peaked at "
        f"{b.peak_backlog:,} (sampled each second) and drained {tail_s:.1f} s after the last write"
        + (": the lag (processed_at − created_at) is mostly time in that queue." if tail_s > 5 else "."),
        "- Per order.created / order.cancelled the relay MERGEs / deletes PURCHASED edges in Neo4j and recomputes its "
        f"products' metrics from MySQL into MongoDB, here {versions[1]}"
        + (
            " on SQLite. A round writes MongoDB once for all its events (events inserted, each touched product's "
            "metrics replaced once), one command per collection; FerretDB finds a document by `_id` by scanning its "
            "collection (1–2 ms idle, 10–50 ms under this load, measured apart), so its CPU bounds the relay: "
            "relay events/s is FerretDB's figure, pessimistic for a real MongoDB with its `_id` index."
            if ferret
            else "."
        ),
    ]
    return "\n".join(lines) + "\n"


def write_section(args: argparse.Namespace, versions: list[str], body: str) -> None:
    env = "".join(f"{k}={v} " for k, v in sorted(os.environ.items()) if k in ("GATEWAY_MONGO_URL", "GATEWAY_MYSQL_URL"))
    command = f"{env}.venv/bin/python bench/writes.py --writes {args.writes} --concurrency {args.concurrency} "
    command += f"--relays {args.relays} --relay-batch {args.relay_batch} --orders {args.orders} --write"
    text = (
        f"`{command}` on {datetime.now(UTC):%Y-%m-%d}, {machine()}; {', '.join(versions)}. Synthetic "
        f"{args.orders:,} orders in gateway_bench, every product stocked with {STOCK:,} units; one in-process app "
        f"(default settings) and {args.relays} relays (`gateway relay` processes, batch {args.relay_batch}, "
        "default lease "
        f"and idle), from before the first write until the outbox is empty. "
        f"Neo4j is shared with the demo's MovieLens graph: bench order ids start at "
        f"{BENCH_ORDER_IDS:,}, and their PURCHASED edges (and nodes the bench created) are deleted after the run.\n\n"
        + body
    )
    replace_section(ROOT / "BENCHMARKS.md", SECTION, text)  # this section only; the contents regenerated


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--writes", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--relays", type=int, default=2)
    parser.add_argument("--orders", type=int, default=20_000, help="synthetic dataset (read_path.py's default)")
    parser.add_argument("--relay-batch", type=int, default=Settings.model_fields["relay_batch_size"].default)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--write", action="store_true", help="replace (or add) this bench's section in BENCHMARKS.md")
    args = parser.parse_args()
    main_task = asyncio.current_task()
    assert main_task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)  # so the finally clean-ups run
    versions, body = await run(args)
    print(body)
    if args.write:
        write_section(args, versions, body)
        print("BENCHMARKS.md updated")


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except asyncio.CancelledError:
        raise SystemExit("stopped by SIGTERM (the bench's nodes and edges were removed from Neo4j)") from None
