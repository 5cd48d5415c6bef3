"""Soak: 64 connections of mixed queries for 60 s against a real `uvicorn` gateway process, then the same while one
store is stopped and started again; errors by kind, p50/p99, and a timeline in 5 s windows.

    .venv/bin/python bench/soak.py [--connections 64] [--duration 60] [--store mongodb] [--write]

bench/read_path.py's synthetic data in gateway_bench. The mix, per request at random: a product page sent as a
persisted query (APQ hash; ids 1–1,000), a signed-in user's page (their orders with lines and products, and
recommendations), an order page as its owner, popular products. Default settings (entity and response caches on).
In the second run the store is stopped through scripts/services ``--stop-at`` seconds in and started again at
``--start-at``; it is started again whatever happens (error, ^C, SIGTERM). The client runs in this process, the
gateway in another, both on the same machine as the stores.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import random
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
from cache import Mode, cancelled_by_sigterm, error_kind, gateway_env, server  # bench/ is sys.path[0]
from markdown import replace_section  # bench/ is sys.path[0] when run as a script
from read_path import bench_settings, machine, prepare
from writes import sql

from gateway.auth import mint
from gateway.config import Settings
from gateway.jobs.datasets import synthetic
from gateway.stores import Sources

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## Soak: mixed queries at 64 connections, and with a store stopped and restarted"
WINDOW_S = 5
PRODUCT_PAGE = "query ProductPage($id: ID!) { product(id: $id) { id title price attributes rating { average count } }}"
USER_PAGE = (
    "query UserPage { viewer { name orders(first: 5) { nodes { id status total items { quantity product { title } } } }"
    " recommendations(limit: 5) { score product { id title } } } }"
)
ORDER_PAGE = "query OrderPage($id: ID!) { order(id: $id) { id status total items { quantity product { title } } } }"
POPULAR = "query Popular { popularProducts(limit: 10) { id title } }"
KINDS = ("product", "user", "order", "popular")


@dataclass
class Run:
    name: str
    ms: dict[str, list[float]] = field(default_factory=lambda: {kind: [] for kind in KINDS})
    errors: Counter[str] = field(default_factory=Counter)
    windows: dict[int, Counter[str]] = field(default_factory=dict)  # window → ok / error counts
    events: list[tuple[float, str]] = field(default_factory=list)
    reregistered: int = 0  # PersistedQueryNotFound answered by sending the document (Redis lost it)


def pct(values: list[float], q: int) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q / 100))]


class Mix:
    """The requests, drawn at random: bodies and headers, tokens minted once."""

    def __init__(self, settings: Settings, orders: list[tuple[int, int]], seed: int) -> None:
        self.random = random.Random(seed)
        self.orders = orders
        users = sorted({user for _, user in orders})
        self.tokens = {user: mint(settings, user) for user in users}
        self.users = users
        digest = hashlib.sha256(PRODUCT_PAGE.encode()).hexdigest()
        self.apq = {"persistedQuery": {"version": 1, "sha256Hash": digest}}

    def registration(self) -> bytes:
        return orjson.dumps({"query": PRODUCT_PAGE, "variables": {"id": "1"}, "extensions": self.apq})

    def draw(self) -> tuple[str, bytes, dict[str, str]]:
        kind = self.random.choice(KINDS)
        if kind == "product":
            body = {"variables": {"id": str(self.random.randint(1, 1000))}, "extensions": self.apq}
            return kind, orjson.dumps(body), {}
        if kind == "user":
            user = self.random.choice(self.users)
            return kind, orjson.dumps({"query": USER_PAGE}), {"Authorization": f"Bearer {self.tokens[user]}"}
        if kind == "order":
            order_id, user = self.random.choice(self.orders)
            body = {"query": ORDER_PAGE, "variables": {"id": str(order_id)}}
            return kind, orjson.dumps(body), {"Authorization": f"Bearer {self.tokens[user]}"}
        return kind, orjson.dumps({"query": POPULAR}), {}


async def sample_orders(settings: Settings, n: int) -> list[tuple[int, int]]:
    sources = Sources.create(settings)
    try:
        rows = await sql(sources, f"SELECT id, user_id FROM orders ORDER BY id LIMIT {int(n)}")
        return [(int(r[0]), int(r[1])) for r in rows]
    finally:
        await sources.close()


def services(*args: str) -> None:
    done = subprocess.run([str(ROOT / "scripts" / "services"), *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"scripts/services {' '.join(args)} failed:\n{done.stdout}{done.stderr}")


async def soak(url: str, mix: Mix, run: Run, args: argparse.Namespace, fault: str | None) -> None:
    start = time.perf_counter()
    end = start + args.duration
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    json = {"Content-Type": "application/json", "Accept": "application/json"}

    async def worker() -> None:
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30.0) as http:
            while (sent := time.perf_counter()) < end:
                kind, body, headers = mix.draw()
                try:
                    response = await http.post("/graphql", content=body, headers={**json, **headers})
                    if b"PERSISTED_QUERY_NOT_FOUND" in response.content:  # as Apollo's client: send it in full
                        run.reregistered += 1
                        response = await http.post("/graphql", content=mix.registration(), headers=json)
                    failed = response.status_code != 200 or b'"errors"' in response.content
                    error = f"{kind}: {error_kind(response)}" if failed else None
                except httpx.HTTPError as exc:
                    error = f"{kind}: {type(exc).__name__}"
                done = time.perf_counter()
                window = run.windows.setdefault(int((done - start) // WINDOW_S), Counter())
                if error is None:
                    run.ms[kind].append((done - sent) * 1000)
                    window["ok"] += 1
                else:
                    run.errors[error] += 1
                    window["errors"] += 1
                    await asyncio.sleep(0.01)

    async def outage() -> None:
        if fault is None:
            return
        await asyncio.sleep(args.stop_at)
        run.events.append((time.perf_counter() - start, f"{fault} stopped"))
        await asyncio.to_thread(services, "stop", fault)
        await asyncio.sleep(max(0.0, start + args.start_at - time.perf_counter()))
        run.events.append((time.perf_counter() - start, f"{fault} starting"))
        await asyncio.to_thread(services, "start", fault)
        run.events.append((time.perf_counter() - start, f"{fault} up"))

    try:
        await asyncio.gather(outage(), *(worker() for _ in range(args.connections)))
    finally:
        if fault is not None:
            await asyncio.to_thread(services, "start", fault)  # idempotent: up again whatever happened


def report(args: argparse.Namespace, runs: list[Run]) -> str:
    lines = [
        "| run | requests ok | req/s | errors | p50 ms | p99 ms | product p50/p99 | user p50/p99 | order p50/p99 "
        "| popular p50/p99 |",
        "|---|---:|---:|---:|---:|---:|---|---|---|---|",
    ]
    for run in runs:
        every = [ms for values in run.ms.values() for ms in values]
        per = " | ".join(f"{pct(run.ms[k], 50):.0f} / {pct(run.ms[k], 99):.0f}" for k in KINDS)
        lines.append(
            f"| {run.name} | {len(every):,} | {len(every) / args.duration:,.0f} | {sum(run.errors.values()):,} "
            f"| {pct(every, 50):.0f} | {pct(every, 99):.0f} | {per} |"
        )
    for run in runs:
        errors = ", ".join(f"{k} ×{n}" for k, n in run.errors.most_common(8)) or "none"
        again = (
            f" {run.reregistered} persisted queries re-sent in full after PersistedQueryNotFound."
            if run.reregistered
            else ""
        )
        lines += ["", f"**{run.name}**: errors {errors}.{again}"]
        if run.events:
            lines.append("Events: " + ", ".join(f"{what} at {at:.1f} s" for at, what in run.events) + ".")
        lines += ["", "| window (s) | ok | errors |", "|---|---:|---:|"]
        for window in sorted(run.windows):
            counts = run.windows[window]
            span = f"{window * WINDOW_S}–{(window + 1) * WINDOW_S}"
            lines.append(f"| {span} | {counts['ok']:,} | {counts['errors']:,} |")
    return "\n".join(lines) + "\n"


def write_section(args: argparse.Namespace, versions: list[str], body: str) -> None:
    command = f".venv/bin/python bench/soak.py --connections {args.connections} --duration {args.duration:g} "
    command += f"--store {args.store} --stop-at {args.stop_at:g} --start-at {args.start_at:g} --write"
    text = (
        f"`{command}` on {datetime.now(UTC):%Y-%m-%d}, {machine()}; {', '.join(versions)}. One uvicorn "
        f"gateway process (default settings: entity and response caches on), {args.connections} client connections "
        "from this process on the same machine, each sending the next request as soon as it has an answer. The mix "
        "(uniform): a product page by APQ hash (ids 1–1,000), a signed-in user's page (orders with lines and "
        "products, recommendations), an order page as its owner, popular products. An error is any answer that is "
        "not 200 or carries `errors` (a partial answer counts as an error here); its kind is the request, the "
        f"status and the first error's code and store. Second run: {args.store} stopped with scripts/services at "
        f"{args.stop_at:g} s and started again at {args.start_at:g} s.\n\n" + body
    )
    replace_section(ROOT / "BENCHMARKS.md", SECTION, text)  # this section only; the contents regenerated


async def main(args: argparse.Namespace) -> None:
    with cancelled_by_sigterm():
        await measure(args)


async def measure(args: argparse.Namespace) -> None:
    settings = bench_settings()
    versions = await prepare(settings, synthetic.generate(orders=args.orders))
    mix = Mix(settings, await sample_orders(settings, 2000), args.seed)
    env = gateway_env(settings, Mode("soak", {}, "default settings"))
    runs = []
    for name, fault in (("steady", None), (f"{args.store} stopped and restarted", args.store)):
        print(f"soak: {name}", flush=True)
        async with server("soak", ["gateway.http.asgi:app"], env, "/ready") as srv:
            async with httpx.AsyncClient(base_url=srv.url, timeout=30.0) as http:
                json = {"Content-Type": "application/json"}
                (await http.post("/graphql", content=mix.registration(), headers=json)).raise_for_status()
            run = Run(name)
            await soak(srv.url, mix, run, args, fault)
            runs.append(run)
    body = report(args, runs)
    print(body)
    if args.write:
        write_section(args, versions, body)
        print("BENCHMARKS.md updated")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--store", choices=("mysql", "mongodb", "neo4j", "redis"), default="mongodb")
    parser.add_argument("--stop-at", type=float, default=15.0)
    parser.add_argument("--start-at", type=float, default=35.0)
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--write", action="store_true")
    try:
        asyncio.run(main(parser.parse_args()))
    except (asyncio.CancelledError, KeyboardInterrupt):
        raise SystemExit("stopped (the gateway was stopped, the store started again)") from None
