"""What the rate limiter costs on the hot path: a persisted query answered from this process's memory, with the
limiter on (charging a guest's buckets, Redis taking the charges in the background) and off.

    .venv/bin/python bench/rate_limits.py [--requests 20000] [--rounds 5] [--write]

In-process: one app per mode (its lifespan open, real Redis), called through ASGI directly (no sockets, no HTTP
client), so that the limiter's share of a request is not lost in the transport's; the loop is given a turn between
requests, as a server's socket reads give it (the background task sending the charges runs then). One guest (a
session id, one address) sends the persisted query's hash alone, back to back, ``--requests`` per round; the rounds
alternate the modes and each mode's median and best round are reported. The limiter's limits are out of reach
(bench/read_path.py's LIMITS_OUT_OF_REACH): it runs in full (buckets, the check, the charge, the background script
calls) and never refuses. Also: the limiter's three calls alone, per request, and how many script calls Redis got
per request.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from markdown import replace_section  # bench/ is sys.path[0] when run as a script
from read_path import bench_settings, machine

from gateway.config import Settings
from gateway.http.app import create_app
from gateway.http.rate_limits import RateLimiter
from gateway.jobs.migrate import upgrade_mysql
from gateway.observability.metrics import STORE_CALLS

ROOT = Path(__file__).resolve().parents[1]
QUERY = "query HotPath { products(first: 3) { nodes { id } } }"
SHA256 = hashlib.sha256(QUERY.encode()).hexdigest()
HEADERS = [(b"content-type", b"application/json"), (b"x-session-id", b"bench-rate-limits-guest")]


class Caller:
    """An app with its lifespan open, called through ASGI with one request body."""

    def __init__(self, settings: Settings) -> None:
        self.app = create_app(settings)
        self.state: dict[str, Any] = {}
        self.status = 0
        self.cache = b""

    async def call(self, body: bytes) -> None:
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
            "path": "/graphql", "raw_path": b"/graphql", "query_string": b"", "root_path": "",
            "headers": [*HEADERS, (b"content-length", str(len(body)).encode())],
            "client": ("192.0.2.10", 40000), "server": ("127.0.0.1", 8000), "state": dict(self.state),
        }  # fmt: skip
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                await asyncio.sleep(3600)
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                self.status = message["status"]
                self.cache = dict(message["headers"]).get(b"x-gateway-cache", b"")

        await self.app(scope, receive, send)


def script_calls() -> float:
    return sum(
        sample.value
        for metric in STORE_CALLS.collect()
        for sample in metric.samples
        if sample.name.endswith("_total") and sample.labels.get("operation") == "rate_limit"
    )


async def round_of(caller: Caller, body: bytes, requests: int) -> float:
    """µs per request over ``requests`` sent back to back."""
    started = time.perf_counter()
    for _ in range(requests):
        await caller.call(body)
        await asyncio.sleep(0)  # a server reads its sockets between requests: the loop's other tasks run
    elapsed = time.perf_counter() - started
    if (caller.status, caller.cache) != (200, b"hit-local"):
        raise SystemExit(f"not the hot path: status {caller.status}, X-Gateway-Cache {caller.cache!r}")
    return elapsed / requests * 1e6


def limiter_alone(settings: Settings, calls: int) -> float:
    """µs per request of the limiter's own work on the request path: buckets, the check, the charge."""
    limiter = RateLimiter(settings)
    started = time.perf_counter()
    for _ in range(calls):
        buckets = limiter.buckets(None, "bench-rate-limits-guest", "192.0.2.10")
        limiter.refused(buckets, time.monotonic())
        limiter.charge(buckets, 7)
    return (time.perf_counter() - started) / calls * 1e6


async def run(args: argparse.Namespace) -> str:
    settings = {
        "on": bench_settings(),
        "off": bench_settings(rate_limit=False),
    }
    await asyncio.to_thread(upgrade_mysql, settings["on"])
    register = orjson.dumps({"query": QUERY, "extensions": {"persistedQuery": {"version": 1, "sha256Hash": SHA256}}})
    hashed = orjson.dumps({"extensions": {"persistedQuery": {"version": 1, "sha256Hash": SHA256}}})
    rounds: dict[str, list[float]] = {"on": [], "off": []}
    calls_per_request = 0.0
    callers = {mode: Caller(value) for mode, value in settings.items()}
    async with (
        callers["on"].app.router.lifespan_context(callers["on"].app) as on_state,
        callers["off"].app.router.lifespan_context(callers["off"].app) as off_state,
    ):
        callers["on"].state, callers["off"].state = dict(on_state), dict(off_state)
        for caller in callers.values():
            invalidations = caller.app.state.graphql_http.invalidations
            await asyncio.wait_for(invalidations.settled.wait(), 30)
            for _ in range(3):  # registers, stores in Redis, then answers from memory
                await caller.call(register)
        for _ in range(args.rounds):
            for mode in ("on", "off"):
                before = script_calls()
                rounds[mode].append(await round_of(callers[mode], hashed, args.requests))
                if mode == "on":
                    calls_per_request = max(calls_per_request, (script_calls() - before) / args.requests)
    alone = min(limiter_alone(settings["on"], args.requests) for _ in range(3))
    on, off = statistics.median(rounds["on"]), statistics.median(rounds["off"])
    best_on, best_off = min(rounds["on"]), min(rounds["off"])
    lines = [
        f"`.venv/bin/python bench/rate_limits.py --requests {args.requests} --rounds {args.rounds}` on "
        f"{datetime.now(UTC):%Y-%m-%d}, {machine()}. In-process, through ASGI directly (no sockets): the persisted "
        f"query `{QUERY}` sent as its hash alone by one guest (a session id and an address), answered from memory "
        f"(`X-Gateway-Cache: hit-local`, checked), {args.requests:,} requests back to back per round, "
        f"{args.rounds} rounds per mode alternating; the median and the best round (the least disturbed by the other "
        f"processes on the machine's 2 cores; load average {os.getloadavg()[0]:.1f} at the end). Limiter on: the "
        "defaults' buckets (the guest's session and its address) with the bursts out of reach, so it charges and "
        "sends the charges to Redis but never refuses.",
        "",
        "| µs per request | median round | best round |",
        "|---|---:|---:|",
        f"| hot path, limiter off (`GATEWAY_RATE_LIMIT=false`) | {off:.1f} | {best_off:.1f} |",
        f"| hot path, limiter on | {on:.1f} | {best_on:.1f} |",
        f"| difference | {on - off:+.1f} ({(on - off) / off:+.1%}) | {best_on - best_off:+.1f} "
        f"({(best_on - best_off) / best_off:+.1%}) |",
        f"| the limiter's own calls alone (buckets, check, charge), best of 3 | {alone:.2f} | |",
        "",
        f"- Rounds, µs per request: on {', '.join(f'{v:.1f}' for v in rounds['on'])}; "
        f"off {', '.join(f'{v:.1f}' for v in rounds['off'])}.",
        f"- Script calls to Redis per request, limiter on: at most {calls_per_request:.3f} (the charges of the "
        "requests that arrive while one call is under way go together in the next).",
    ]
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20_000, help="requests per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per mode")
    parser.add_argument("--write", action="store_true", help="replace (or add) this bench's section in BENCHMARKS.md")
    args = parser.parse_args()
    body = await run(args)
    print(body)
    if args.write:
        replace_section(ROOT / "BENCHMARKS.md", "Rate limits: what the limiter costs on the hot path", body)


if __name__ == "__main__":
    asyncio.run(main())
