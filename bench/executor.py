"""The plan executor against the resolvers and against the floor, over HTTP, in one run.

    .venv/bin/python bench/executor.py [--seconds 10] [--connections 16,64] [--orders 20000] [--write]

Servers (each a uvicorn process, one worker, on 127.0.0.1):

    floor        bench/floor.py: the same reads with the drivers themselves, no GraphQL (the reference)
    resolvers    the gateway, GATEWAY_EXECUTOR=resolvers: strawberry's executor, a resolver call per field
    plan         the gateway as it ships: compiled plans
    both with the response cache off; with the entity cache off, and the plan executor also with it on (the default)

Pages (the demo's MovieLens data, the gateway's database): the 100-order page (user 655's 100 newest orders, each
with its user's name and its lines' quantity, product title and price: 420 lines), the product page and the user
page of bench/pages.py. wrk sends them for ``--seconds`` at each connection count; before that, one request per
page and server checks that the gateway's answer is the floor's, byte for byte. Reported: requests per second, p50
and p99, the server's CPU time per request and its peak RSS.

Then CPU per request against page size: a synthetic heavy user's 10, 100 and 1,000 newest orders (the bench data
of bench/read_path.py, ``--orders`` orders, in gateway_bench), per resolved field (the keys of the answer).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import wrk
from cache import server
from markdown import replace_section
from pages import PRODUCT_PAGE, USER_PAGE
from read_path import bench_settings, machine, prepare

from gateway.auth import mint
from gateway.config import Settings
from gateway.jobs.datasets import synthetic
from gateway.jobs.migrate import upgrade_mysql

ROOT = Path(__file__).resolve().parents[1]
SOURCE_TIMEOUT_S = 30.0
RETRY_S = 3.0  # past the breaker's reset (GATEWAY_BREAKER_RESET_S, 5 s) after two
TARGET = 1 / 3  # the bar: the plan executor at a third of the floor's req/s, or better
RSS_LIMIT_MIB = 300
SECTION = "## Execution plans: the plan executor against the resolvers and a hand-written endpoint"
ORDERS_PAGE = (
    "query Page($u: ID!, $n: Int!) { user(id: $u) { orders(first: $n) { edges { node { id user { name } "
    "items { quantity product { title price } } } } } } }"
)
PAGE_USER = 655  # MovieLens: 100 orders and more, 420 lines in the newest 100
PRODUCTS = (1, 50, 100, 181, 258, 286, 294, 300, 50, 121)
USERS = (1, 5, 13, 92, 194, 276, 405, 450, 655, 896)
SIZES = (10, 100, 1000)
HEAVY_USER = synthetic.HEAVY_USERS[0]


@dataclass(frozen=True, slots=True)
class Mode:
    name: str
    env: dict[str, str]


FLOOR = "floor"
MODES = (
    Mode("resolvers", {"GATEWAY_EXECUTOR": "resolvers", "GATEWAY_ENTITY_CACHE": "false"}),
    Mode("plan", {"GATEWAY_EXECUTOR": "plan", "GATEWAY_ENTITY_CACHE": "false"}),
    Mode("plan, entity cache", {"GATEWAY_EXECUTOR": "plan", "GATEWAY_ENTITY_CACHE": "true"}),
)


@dataclass(frozen=True, slots=True)
class Page:
    name: str
    gateway: list[wrk.Call]  # what the gateway is sent, cycled
    floor: list[wrk.Call]  # the same pages from the floor, in the same order


@dataclass(frozen=True, slots=True)
class Row:
    page: str
    server: str
    result: wrk.Result


def pages(settings: Settings) -> list[Page]:
    admin = {"Authorization": f"Bearer {mint(settings, 943, roles=('admin',), ttl_s=6 * 3600)}"}
    orders = {"query": ORDERS_PAGE, "variables": {"u": str(PAGE_USER), "n": 100}}
    return [
        Page(
            "100-order page",
            [wrk.json_post("/graphql", orders, admin)],
            [wrk.Call("GET", f"/orders?user={PAGE_USER}&n=100")],
        ),
        Page(
            "product page",
            [wrk.json_post("/graphql", {"query": PRODUCT_PAGE, "variables": {"id": str(p)}}) for p in PRODUCTS],
            [wrk.Call("GET", f"/product?id={p}") for p in PRODUCTS],
        ),
        Page(
            "user page",
            [wrk.json_post("/graphql", {"query": USER_PAGE, "variables": {"id": str(u)}}, admin) for u in USERS],
            [wrk.Call("GET", f"/user?id={u}") for u in USERS],
        ),
    ]


def environment(settings: Settings, extra: dict[str, str]) -> dict[str, str]:
    return {
        "GATEWAY_MYSQL_URL": settings.mysql_url,
        "GATEWAY_MONGO_DATABASE": settings.mongo_database,
        "GATEWAY_RESPONSE_CACHE": "false",
        "GATEWAY_GRAPHIQL": "false",
        "GATEWAY_RELAY_IN_SERVE": "false",
        "GATEWAY_LOG_LEVEL": "warning",
        # The floor waits for its stores as long as they take; so does the gateway here (the default bound, 2 s,
        # is passed by Neo4j's answers on a loaded machine, and would measure TIMEOUT answers, not the executor).
        "GATEWAY_SOURCE_TIMEOUT_S": str(SOURCE_TIMEOUT_S),
        "PYTHONPATH": str(ROOT),
        **extra,
    }


@asynccontextmanager
async def serving(name: str, settings: Settings, env: dict[str, str]) -> AsyncIterator[Any]:
    if name == FLOOR:
        app, ready = ["--app-dir", str(ROOT / "bench"), "floor:app"], "/health"
    else:
        app, ready = ["gateway.http.asgi:app"], "/ready"
    async with server(name.replace(" ", "-").replace(",", ""), app, environment(settings, env), ready) as srv:
        yield srv


async def send(http: httpx.AsyncClient, call: wrk.Call, attempts: int = 5) -> bytes:
    """The call's answer; one with errors is sent again (a store's TIMEOUT on a loaded machine, then its breaker
    until it resets), up to ``attempts`` times, ``RETRY_S`` apart."""
    for attempt in range(attempts):
        response = await http.request(call.method, call.path, content=call.body or None, headers=dict(call.headers))
        if response.status_code == 200 and b'"errors"' not in response.content:
            return response.content
        if attempt < attempts - 1:
            await asyncio.sleep(RETRY_S)
    errors = orjson.loads(response.content).get("errors") if response.content.startswith(b"{") else None
    said = orjson.dumps(errors).decode()[:800] if errors else repr(response.content[:800])
    raise SystemExit(f"{call.path} {call.body[:200]!r}: HTTP {response.status_code}, {attempts} times: {said}")


async def answers(srv: Any, calls: Sequence[wrk.Call]) -> list[bytes]:
    """Each call's answer, twice: the second after a warm-up (Neo4j's first queries compile their plans)."""
    async with httpx.AsyncClient(base_url=srv.url, timeout=60) as http:
        for call in calls:
            await send(http, call)
        return [await send(http, call) for call in calls]


async def measure_pages(settings: Settings, args: argparse.Namespace) -> list[Row]:
    """Every server started at once (an idle one costs nothing); then per page and connection count, each server
    back to back, so that the ratios of one page compare loads measured minutes apart at most."""
    rows: list[Row] = []
    # The pages read the demo database: at the schema's head, as scripts/run leaves it (a no-op when it is).
    await asyncio.to_thread(upgrade_mysql, settings)
    servers = [(FLOOR, {}), *((mode.name, mode.env) for mode in MODES)]
    async with contextlib.AsyncExitStack() as stack:
        running = {name: await stack.enter_async_context(serving(name, settings, env)) for name, env in servers}
        for page in pages(settings):
            expected = await answers(running[FLOOR], page.floor)
            for name, srv in running.items():
                calls = page.floor if name == FLOOR else page.gateway
                if name != FLOOR and await answers(srv, calls) != expected:
                    raise SystemExit(f"{name}: the {page.name} differs from the floor's answer")
            for connections in args.connections:
                for name, srv in running.items():
                    calls = page.floor if name == FLOOR else page.gateway
                    result = await wrk.run(
                        srv.url, calls, connections=connections, seconds=args.seconds, pid=srv.process.pid
                    )
                    rows.append(Row(page.name, name, result))
                    print(
                        f"  {page.name:15} {name:20} c={connections:<3} {result.rps:8.1f} req/s  p50 "
                        f"{result.p50_ms:7.1f} ms  p99 {result.p99_ms:7.1f} ms  CPU {result.cpu_ms:6.2f} ms/req  "
                        f"RSS {result.rss_mib:5.0f} MiB  failed {result.failed}",
                        flush=True,
                    )
    return rows


def fields(value: Any) -> int:
    """Resolved fields in an answer: every key of every object."""
    if isinstance(value, dict):
        return len(value) + sum(fields(v) for v in value.values())
    if isinstance(value, list):
        return sum(fields(v) for v in value)
    return 0


async def measure_sizes(args: argparse.Namespace) -> list[tuple[str, int, int, wrk.Result]]:
    """CPU per request and per field, by page size, on the synthetic heavy user (16 connections)."""
    settings = bench_settings()
    await prepare(settings, synthetic.generate(orders=args.orders))
    admin = {"Authorization": f"Bearer {mint(settings, 943, roles=('admin',), ttl_s=6 * 3600)}"}
    out = []
    for name, env in [(FLOOR, {}), *((mode.name, mode.env) for mode in MODES[:2])]:
        async with serving(name, settings, env) as srv:
            for n in SIZES:
                if name == FLOOR:
                    call = wrk.Call("GET", f"/orders?user={HEAVY_USER}&n={n}")
                else:
                    body = {"query": ORDERS_PAGE, "variables": {"u": str(HEAVY_USER), "n": n}}
                    call = wrk.json_post("/graphql", body, admin)
                (answer,) = await answers(srv, [call])
                count = fields(orjson.loads(answer))
                result = await wrk.run(srv.url, [call], connections=16, seconds=args.seconds, pid=srv.process.pid)
                out.append((name, n, count, result))
                print(
                    f"  {name:20} {n:5} orders  {count:6} fields  {result.cpu_ms:7.2f} ms/req  "
                    f"{1000 * result.cpu_ms / count:6.2f} µs/field  {result.rps:7.1f} req/s",
                    flush=True,
                )
    return out


def summary(rows: list[Row]) -> list[str]:
    """Per page and connection count, the plan executor against the floor and against the resolvers; peak RSS."""
    by = {(r.page, r.server, r.result.connections): r.result for r in rows}
    lines = []
    for page, name, n in sorted({(p, s, c) for p, s, c in by if s != FLOOR and s != "resolvers"}):
        plan, floor, resolvers = by[(page, name, n)], by.get((page, FLOOR, n)), by.get((page, "resolvers", n))
        if floor is None or not floor.rps:
            continue
        if not plan.requests:
            lines.append(
                f"- {page}, {name}, {n} connections: no request finished within the {plan.seconds:g} s window, "
                f"while the floor's own p50 was {floor.p50_ms / 1000:.1f} s: the stores behind this page were "
                "saturated on this machine, so this row does not measure the executor."
            )
            continue
        ratio = plan.rps / floor.rps
        verdict = "meets" if ratio >= TARGET else "**misses**"
        versus = f", ×{plan.rps / resolvers.rps:.1f} the resolvers" if resolvers and resolvers.rps else ""
        lines.append(
            f"- {page}, {name}, {n} connections: {plan.rps:,.1f} req/s = {ratio:.2f} of the floor's "
            f"{floor.rps:,.1f} ({verdict} the bar of {TARGET:.2f}){versus}; CPU {plan.cpu_ms:.2f} ms/request "
            f"against the floor's {floor.cpu_ms:.2f}."
        )
    peaks = {
        name: max(r.result.rss_mib for r in rows if r.server == name)
        for name in dict.fromkeys(r.server for r in rows)
        if name != FLOOR
    }
    if peaks:
        said = "; ".join(
            f"{name} {peak:.0f} MiB ({'under' if peak < RSS_LIMIT_MIB else '**over**'} {RSS_LIMIT_MIB})"
            for name, peak in peaks.items()
        )
        lines.append(
            f"- Peak RSS of each gateway process over the run, up to {max(r.result.connections for r in rows)} "
            f"connections: {said}. With the entity cache, every product of a page is decoded whole from Redis "
            "(row, attributes document, metrics), where the plan without it reads only the row fields the page "
            "selects: the requests in flight hold more."
        )
    return lines


def report(args: argparse.Namespace, rows: list[Row], sizes: list[tuple[str, int, int, wrk.Result]]) -> str:
    command = "    .venv/bin/python bench/executor.py " + " ".join(sys.argv[1:])
    lines = [
        f"Run on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {machine()}. Command:",
        "",
        command.rstrip(),
        "",
        "Each server is one uvicorn worker, all four started side by side; wrk (one thread) sends each page for "
        f"{args.seconds:g} s per connection count to each server in turn (so a page's rows are minutes apart at "
        "most). The gateway's answers were checked equal to the floor's, byte "
        "for byte, before each load. CPU is the server process's user + system time divided by the requests it "
        "answered; RSS its peak during the load. Response cache off everywhere; entity cache off unless said. "
        f"Store calls bounded at {SOURCE_TIMEOUT_S:g} s (`GATEWAY_SOURCE_TIMEOUT_S`), as the floor waits for its "
        "stores.",
        "",
        *summary(rows),
        "",
        "| page | server | connections | req/s | × floor | p50 ms | p99 ms | CPU ms/req | RSS MiB | failed |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    floor = {(r.page, r.result.connections): r.result.rps for r in rows if r.server == FLOOR}
    for r in rows:
        x = r.result
        ratio = x.rps / floor[(r.page, x.connections)] if floor.get((r.page, x.connections)) else float("nan")
        lines.append(
            f"| {r.page} | {r.server} | {x.connections} | {x.rps:,.1f} | {ratio:.2f} | {x.p50_ms:.1f} | "
            f"{x.p99_ms:.1f} | {x.cpu_ms:.2f} | {x.rss_mib:.0f} | {x.failed} |"
        )
    lines += [
        "",
        f"CPU per request against page size: synthetic user {HEAVY_USER}'s newest 10, 100 and 1,000 orders "
        f"(bench data, {args.orders:,} orders; the same page query), 16 connections:",
        "",
        "| server | orders | fields in the answer | CPU ms/req | CPU µs/field | req/s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, n, count, x in sizes:
        lines.append(f"| {name} | {n:,} | {count:,} | {x.cpu_ms:.2f} | {1000 * x.cpu_ms / count:.2f} | {x.rps:,.1f} |")
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", default="16,64", help="comma-separated connection counts")
    parser.add_argument("--orders", type=int, default=20_000, help="synthetic orders for the page-size sweep")
    parser.add_argument("--write", action="store_true", help="replace this bench's section of BENCHMARKS.md")
    args = parser.parse_args()
    args.connections = [int(n) for n in args.connections.split(",")]
    if not wrk.available():
        raise SystemExit("wrk is not installed: apt-get install wrk")
    rows = await measure_pages(Settings(), args)
    sizes = await measure_sizes(args)
    text = report(args, rows, sizes)
    print(text)
    if args.write:
        replace_section(ROOT / "BENCHMARKS.md", SECTION, text)


if __name__ == "__main__":
    asyncio.run(main())
