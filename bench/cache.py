"""One persisted query uncached, entity-cached and response-cached, against plain strawberry, over real sockets.

    .venv/bin/python bench/cache.py [--duration 15] [--warmup 3] [--connections 16,64] [--orders 20000] [--write]

bench/read_path.py's synthetic data in gateway_bench (MySQL, Mongo; Neo4j is the demo's graph, only read). Each
server is its own uvicorn process (one process, 127.0.0.1, a free port, access log off): the gateway
(``gateway.http.asgi:app``) once per mode, and as the reference a plain strawberry app (``strawberry.asgi.GraphQL``
over a one-field schema) answering ``{ __typename }``. Modes, as GATEWAY_* variables of the gateway's process:

    uncached          GATEWAY_ENTITY_CACHE=false GATEWAY_RESPONSE_CACHE=false
    entity-cached     GATEWAY_ENTITY_CACHE=true  GATEWAY_RESPONSE_CACHE=false
    response-cached   GATEWAY_ENTITY_CACHE=true  GATEWAY_RESPONSE_CACHE=true  (GATEWAY_RESPONSE_CACHE_TTL_S)

The gateway's query is PRODUCT_PAGE, registered once per server start by APQ and then sent as its hash alone,
with ``id`` cycling through PRODUCT_IDS (guest requests). Before the load, one pass over every id fills the caches
and checks the answers, and one request with ``X-Gateway-Explain: 1`` checks the mode is what it claims. The
client is this process: per connection count, that many httpx.AsyncClient (one connection each) send POSTs back
to back for ``--warmup`` seconds (not counted), then ``--duration`` seconds (counted: requests that finish inside
it). Server processes are stopped on exit, error, ^C and SIGTERM (and die with this process on Linux).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import hashlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
import orjson
from markdown import replace_section  # bench/ is sys.path[0] when run as a script
from read_path import bench_settings, machine, prepare, server_versions

from gateway.config import Settings
from gateway.jobs.datasets import synthetic
from gateway.stores import Sources

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
SECTION = "## Caches: one persisted query uncached, entity-cached and response-cached"
PRODUCT_PAGE = (
    "query ProductPage($id: ID!) { product(id: $id) { id title price attributes rating { average count } "
    "categories { name } boughtTogether(limit: 5) { id title } } }"
)
PRODUCT_IDS = tuple(range(1, 51))  # 50 products, cycled: every cache is warm after the first pass
REFERENCE_QUERY = "{ __typename }"
RESPONSE_CACHE_TTL_S = 600  # longer than a mode's run, so the response cache answers throughout
STORES = ("mysql", "mongodb", "neo4j")
READY_S = 60.0
STOP_S = 10.0
RETRIES = 5
DEFAULT_TIMEOUT_S = Settings.model_fields["source_timeout_s"].default
DEFAULTS = {name: f.default for name, f in Settings.model_fields.items() if name in ("entity_cache", "response_cache")}


@dataclass(frozen=True, slots=True)
class Mode:
    name: str
    env: dict[str, str]
    meaning: str


MODES = (
    Mode(
        "uncached",
        {"GATEWAY_ENTITY_CACHE": "false", "GATEWAY_RESPONSE_CACHE": "false"},
        "`GATEWAY_ENTITY_CACHE=false GATEWAY_RESPONSE_CACHE=false`: every request reads MySQL, MongoDB and Neo4j",
    ),
    Mode(
        "entity-cached",
        {"GATEWAY_ENTITY_CACHE": "true", "GATEWAY_RESPONSE_CACHE": "false"},
        "`GATEWAY_ENTITY_CACHE=true GATEWAY_RESPONSE_CACHE=false`: products (row + document + metrics) from "
        "Redis, the query still executed field by field",
    ),
    Mode(
        "response-cached",
        {
            "GATEWAY_ENTITY_CACHE": "true",
            "GATEWAY_RESPONSE_CACHE": "true",
            "GATEWAY_RESPONSE_CACHE_TTL_S": str(RESPONSE_CACHE_TTL_S),
        },
        f"`GATEWAY_ENTITY_CACHE=true GATEWAY_RESPONSE_CACHE=true GATEWAY_RESPONSE_CACHE_TTL_S={RESPONSE_CACHE_TTL_S}`: "
        "the whole result of the persisted operation cached per (hash, operation name, variables, viewer scope)",
    ),
)


# -- the reference server -------------------------------------------------------------------------------------


def reference_app() -> Any:
    """``uvicorn --factory cache:reference_app``: plain strawberry, nothing but a schema."""
    import strawberry
    from strawberry.asgi import GraphQL

    @strawberry.type
    class Query:
        @strawberry.field
        def ok(self) -> bool:
            return True

    return GraphQL(strawberry.Schema(query=Query), graphql_ide=None)


# -- server processes -----------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> Callable[[], None] | None:
    """A preexec_fn asking Linux to SIGTERM the child when this process dies, even by SIGKILL."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up here: the child only calls it
    pr_set_pdeathsig = 1

    def preexec() -> None:
        prctl(pr_set_pdeathsig, signal.SIGTERM)

    return preexec


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs since boot: busy excludes idle and iowait."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    total = sum(values[:8])  # guest time is already in user
    return total - values[3] - values[4], total


@dataclass(slots=True)
class Server:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path


@contextlib.asynccontextmanager
async def server(name: str, app: list[str], env: dict[str, str], ready_path: str) -> AsyncIterator[Server]:
    """A uvicorn process serving ``app`` on a free port, answering ``ready_path`` with 200; stopped on leaving."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", *app, "--host", "127.0.0.1", "--port", str(port)]
    command += ["--log-level", "warning", "--no-access-log"]
    fd, log_name = tempfile.mkstemp(prefix=f"bench-cache-{name}-", suffix=".log")
    log = Path(log_name)
    with os.fdopen(fd, "wb") as out:
        process = subprocess.Popen(  # noqa: ASYNC220 (started once per mode; stopping it must not need the loop)
            command, cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent(),
        )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        await wait_ready(f"{name} server", url + ready_path, process, log, READY_S)
        yield Server(name, url, process, log)
    finally:
        stop(name, process, log)


async def wait_ready(what: str, url: str, process: subprocess.Popen[bytes], log: Path, ready_s: float) -> None:
    """Until ``url`` answers 200; SystemExit with the log's tail when the process ends first or ``ready_s`` pass."""
    deadline = time.monotonic() + ready_s
    async with httpx.AsyncClient(timeout=5.0) as http:
        while True:
            if process.poll() is not None:
                raise SystemExit(f"{what} exited ({process.returncode}):\n{tail(log)}")
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(url)).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise SystemExit(f"{what} not ready after {ready_s:g} s:\n{tail(log)}")
            await asyncio.sleep(0.2)


def stop(
    name: str, process: subprocess.Popen[bytes], log: Path, stop_s: float = STOP_S, *, keep_log: bool = False
) -> None:
    """SIGTERM (uvicorn's graceful shutdown), SIGKILL after ``stop_s``; its log's tail is shown when it ended badly,
    then the log is deleted unless ``keep_log``."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(stop_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.returncode not in (0, -signal.SIGTERM):
        print(f"{name} server ended with {process.returncode}:\n{tail(log)}", file=sys.stderr)
    if not keep_log:
        log.unlink(missing_ok=True)


def tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else "(no log)"


# -- the gateway's requests -----------------------------------------------------------------------------------

SHA256 = hashlib.sha256(PRODUCT_PAGE.encode()).hexdigest()
APQ = {"persistedQuery": {"version": 1, "sha256Hash": SHA256}}
JSON = {"Content-Type": "application/json", "Accept": "application/json"}
EXPLAIN = {"X-Gateway-Explain": "1"}
CACHE_HEADER = "X-Gateway-Cache"  # the response cache's outcome (gateway/http/graphql_http.py)


def gateway_bodies() -> list[bytes]:
    return [orjson.dumps({"variables": {"id": str(i)}, "extensions": APQ}) for i in PRODUCT_IDS]


def reference_bodies() -> list[bytes]:
    return [orjson.dumps({"query": REFERENCE_QUERY})]


async def post(http: httpx.AsyncClient, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    return await http.post("/graphql", content=body, headers={**JSON, **(headers or {})})


def answer(response: httpx.Response, what: str) -> dict[str, Any]:
    payload: dict[str, Any] = response.json()
    if response.status_code != 200 or payload.get("errors"):
        raise SystemExit(f"{what}: HTTP {response.status_code}, {str(payload)[:1500]}")
    return payload


async def settled(http: httpx.AsyncClient, body: bytes, what: str, **headers: str) -> httpx.Response:
    """The answer to ``body`` once it has no error: the stores are shared (tests may pause Redis, load MongoDB),
    so a setup request is tried up to RETRIES times, a second apart, before the bench gives up."""
    for attempt in range(1, RETRIES + 1):
        response = await post(http, body, headers)
        if response.status_code == 200 and b'"errors"' not in response.content:
            return response
        if attempt == RETRIES:
            answer(response, what)
        print(f"  {what}: {error_kind(response)}, retrying", flush=True)
        await asyncio.sleep(1.0)
    raise AssertionError("unreachable")


def error_kind(response: httpx.Response) -> str:
    """HTTP status, and the first error's code (and source) when the answer has errors."""
    try:
        errors = orjson.loads(response.content).get("errors") or []
    except (orjson.JSONDecodeError, AttributeError):
        errors = []
    return error_text(response.status_code, errors)


def error_text(status: int, errors: Sequence[Any]) -> str:
    """``HTTP {status}``, then the first error's code and source (e.g. ``HTTP 200 TIMEOUT neo4j``), ``errors`` when
    it has neither, nothing when there is no error."""
    extensions = (errors[0].get("extensions") or {}) if errors and isinstance(errors[0], dict) else {}
    code = " ".join(str(extensions[key]) for key in ("code", "source") if key in extensions)
    return f"HTTP {status}" + (f" {code}" if code else " errors" if errors else "")


@dataclass(slots=True)
class Check:
    ok: bool
    summary: str  # round trips and cache counts of one warm request, from explain
    note: str = ""


def trips(explain: dict[str, Any]) -> dict[str, int]:
    return {store: entry["roundTrips"] for store, entry in explain.get("sources", {}).items()}


def operations(explain: dict[str, Any], store: str) -> list[str]:
    return [call["operation"] for call in explain.get("sources", {}).get(store, {}).get("calls", [])]


def describe(explain: dict[str, Any]) -> str:
    found = trips(explain)
    text = ", ".join(f"{store} {found[store]}" for store in (*STORES, "redis") if found.get(store))
    hits = sum(counts["hits"] for counts in explain.get("cache", {}).values())
    misses = sum(counts["misses"] for counts in explain.get("cache", {}).values())
    return (text or "no store") + (f"; entity cache {hits} hits, {misses} misses" if hits or misses else "")


async def verify(http: httpx.AsyncClient, mode: Mode, body: bytes, response_cache_exists: bool) -> Check:
    """The second of two requests on one id, with explain, then one without: the mode does what it claims.

    The response cache reports itself as ``X-Gateway-Cache`` (hit, miss, stored, bypassed, …; no header when it
    was not asked) and ``extensions.explain.responseCache``; the entity cache as ``extensions.explain.cache``."""
    await settled(http, body, f"{mode.name} explain", **EXPLAIN)
    response = await settled(http, body, f"{mode.name} explain", **EXPLAIN)
    plain = await settled(http, body, f"{mode.name} (no explain)")
    explain = orjson.loads(response.content).get("extensions", {}).get("explain", {})
    found, summary = trips(explain), describe(explain)
    hits = sum(counts["hits"] for counts in explain.get("cache", {}).values())
    stores = sum(found.get(store, 0) for store in STORES)
    outcomes = [r.headers.get(CACHE_HEADER) for r in (response, plain)] + [explain.get("responseCache")]
    said = f"{CACHE_HEADER} {outcomes[0]} / {outcomes[1]}, explain.responseCache {outcomes[2]}"
    if mode.name != "response-cached" and any(outcomes):
        return Check(False, summary, f"the response cache answered ({said})")
    if mode.name == "uncached":
        ok = found.get("mysql", 0) > 0 and found.get("mongodb", 0) > 0 and hits == 0
        return Check(ok, summary, "" if ok else "expected MySQL and MongoDB round trips and no entity-cache hits")
    if mode.name == "entity-cached":
        product_reads = [op for op in operations(explain, "mysql") if op.startswith("products")]
        ok = hits > 0 and not product_reads and not found.get("mongodb")
        return Check(ok, summary, "" if ok else "expected entity-cache hits, no MySQL product and no MongoDB reads")
    if not response_cache_exists:
        return Check(False, summary, "`response_cache` is not a gateway setting yet: this mode ran as entity-cached")
    ok = outcomes == ["hit", "hit", "hit"] and stores == 0
    return Check(ok, summary, said + ("" if ok else ": expected hit everywhere and no MySQL, MongoDB, Neo4j read"))


# -- load -----------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Load:
    server: str
    mode: str
    connections: int
    seconds: float
    ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)  # X-Gateway-Cache of the counted answers
    client_cpu: float = 0.0  # share of one core, over the counted window
    server_cpu: float = 0.0
    machine_cpu: float = 0.0  # all cores: up to their number

    def said(self) -> str:
        """The response cache's outcomes, as shares of the counted answers ("–": it was not asked)."""
        total = sum(self.outcomes.values())
        shown = [f"{k} {n / total:.0%}" for k, n in self.outcomes.most_common() if k]
        return ", ".join(shown) or "–"

    @property
    def rps(self) -> float:
        return len(self.ms) / self.seconds

    def pct(self, q: int) -> float:
        if len(self.ms) < 2:
            return self.ms[0] if self.ms else float("nan")
        return statistics.quantiles(self.ms, n=100, method="inclusive")[q - 1]


async def load(srv: Server, mode: str, bodies: list[bytes], connections: int, args: argparse.Namespace) -> Load:
    """``connections`` clients, one connection each, POSTing back to back; counted: requests that finish in
    [warm-up end, warm-up end + duration]."""
    out = Load("strawberry" if mode == "reference" else "gateway", mode, connections, args.duration)
    start = time.perf_counter()
    counted_from, counted_to = start + args.warmup, start + args.warmup + args.duration
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)

    async def worker(n: int) -> None:
        async with httpx.AsyncClient(base_url=srv.url, limits=limits, timeout=30.0) as http:
            i = n
            while (sent := time.perf_counter()) < counted_to:
                body = bodies[i % len(bodies)]
                i += 1
                try:
                    response = await post(http, body)
                    failed = response.status_code != 200 or b'"errors"' in response.content
                    error = error_kind(response) if failed else None
                except httpx.HTTPError as exc:
                    error = type(exc).__name__
                done = time.perf_counter()
                if counted_from <= done <= counted_to:
                    if error is None:
                        out.ms.append((done - sent) * 1000)
                        out.outcomes[response.headers.get(CACHE_HEADER, "")] += 1
                    else:
                        out.errors[error] += 1
                if error is not None and done < counted_to:
                    await asyncio.sleep(0.01)  # a refused connection must not become a busy loop

    async def meter() -> None:
        await asyncio.sleep(counted_from - time.perf_counter())
        before = time.process_time(), cpu_seconds(srv.process.pid), machine_busy()
        await asyncio.sleep(counted_to - time.perf_counter())
        after = time.process_time(), cpu_seconds(srv.process.pid), machine_busy()
        out.client_cpu = (after[0] - before[0]) / args.duration
        out.server_cpu = (after[1] - before[1]) / args.duration
        busy, total = after[2][0] - before[2][0], after[2][1] - before[2][1]
        out.machine_cpu = busy / total * (os.cpu_count() or 1) if total else 0.0

    await asyncio.gather(meter(), *(worker(n) for n in range(connections)))
    errors = sum(out.errors.values())
    print(
        f"  {out.server} {mode} c={connections}: {out.rps:,.0f} req/s, p50 {out.pct(50):.1f} ms, "
        f"p99 {out.pct(99):.1f} ms, {errors} errors; CPU: server {out.server_cpu:.0%}, client "
        f"{out.client_cpu:.0%}, machine {out.machine_cpu:.0%} of {os.cpu_count()} cores",
        flush=True,
    )
    return out


# -- the run --------------------------------------------------------------------------------------------------


def gateway_env(settings: Settings, mode: Mode) -> dict[str, str]:
    return {
        "GATEWAY_MYSQL_URL": settings.mysql_url,
        "GATEWAY_MONGO_DATABASE": settings.mongo_database,
        "GATEWAY_REDIS_URL": settings.redis_url,
        "GATEWAY_GRAPHIQL": "false",
        "GATEWAY_RELAY_IN_SERVE": "false",
        "GATEWAY_LOG_LEVEL": "warning",
        **mode.env,
    }


async def run_gateway(
    settings: Settings, mode: Mode, args: argparse.Namespace, response_cache: bool
) -> tuple[Check, list[Load]]:
    async with server(mode.name, ["gateway.http.asgi:app"], gateway_env(settings, mode), "/ready") as srv:
        bodies = gateway_bodies()
        async with httpx.AsyncClient(base_url=srv.url, timeout=30.0) as http:
            registration = orjson.dumps({"query": PRODUCT_PAGE, "variables": {"id": "1"}, "extensions": APQ})
            await settled(http, registration, "APQ registration")
            for i, body in zip(PRODUCT_IDS, bodies, strict=True):  # fills the caches, checks every answer
                if orjson.loads((await settled(http, body, f"product {i}")).content)["data"]["product"] is None:
                    raise SystemExit(f"product {i} is not in gateway_bench")
            check = await verify(http, mode, bodies[0], response_cache)
        print(f"  {mode.name}: {'verified' if check.ok else 'WARNING'}: {check.summary}. {check.note}", flush=True)
        return check, [await load(srv, mode.name, bodies, n, args) for n in args.connections]


async def run_reference(args: argparse.Namespace) -> list[Load]:
    factory = ["--factory", "cache:reference_app", "--app-dir", str(BENCH)]
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    async with server("strawberry", factory, env, "/graphql?query=%7B__typename%7D") as srv:
        async with httpx.AsyncClient(base_url=srv.url, timeout=30.0) as http:
            await settled(http, reference_bodies()[0], "reference")
        return [await load(srv, "reference", reference_bodies(), n, args) for n in args.connections]


async def redis_version(settings: Settings) -> str:
    sources = Sources.create(settings)
    try:
        return (await server_versions([sources.redis]))[0]
    finally:
        await sources.close()


async def run(args: argparse.Namespace) -> tuple[list[str], str]:
    settings = bench_settings()
    args.source_timeout_s = settings.source_timeout_s  # the servers read the same environment
    response_cache = "response_cache" in Settings.model_fields
    if not response_cache:
        print("WARNING: Settings has no `response_cache` yet: GATEWAY_RESPONSE_CACHE is ignored and the "
              "response-cached mode runs as entity-cached", flush=True)  # fmt: skip
    versions = await prepare(settings, synthetic.generate(orders=args.orders))
    versions.append(await redis_version(settings))
    print("reference: plain strawberry, { __typename }", flush=True)
    results = await run_reference(args)
    checks: dict[str, Check] = {}
    for mode in MODES:
        print(f"gateway: {mode.name}", flush=True)
        checks[mode.name], loads = await run_gateway(settings, mode, args, response_cache)
        results += loads
    return versions, report(args, versions, results, checks, response_cache)


def report(
    args: argparse.Namespace, versions: list[str], results: list[Load], checks: dict[str, Check], response_cache: bool
) -> str:
    cores = os.cpu_count() or 1
    lines = [
        f"| server | mode | connections | requests | req/s | p50 ms | p99 ms | errors | {CACHE_HEADER} | server CPU "
        f"| client CPU | machine CPU (of {cores * 100}%) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|",
    ]
    for r in results:
        errors = ", ".join(f"{kind} ×{n}" for kind, n in r.errors.most_common()) or "0"
        lines.append(
            f"| {r.server} | {r.mode} | {r.connections} | {len(r.ms):,} | {r.rps:,.0f} | {r.pct(50):.1f} "
            f"| {r.pct(99):.1f} | {errors} | {r.said()} | {r.server_cpu:.0%} | {r.client_cpu:.0%} "
            f"| {r.machine_cpu:.0%} |"
        )
    by = {(r.mode, r.connections): r for r in results}
    lines += ["", "| mode | what it is | one warm request, from explain | checked |", "|---|---|---|---|"]
    for mode in MODES:
        check = checks[mode.name]
        status = ("yes" if check.ok else "**NO**") + (f": {check.note}" if check.note else "")
        default = all(mode.env[f"GATEWAY_{name.upper()}"] == str(DEFAULTS.get(name)).lower() for name in DEFAULTS)
        meaning = mode.meaning + (" (both on: the gateway's default)" if default else "")
        if mode.name == "response-cached" and "response_cache_ttl_s" in Settings.model_fields:
            ttl = Settings.model_fields["response_cache_ttl_s"].default
            meaning += f"; the TTL's default is {ttl:g} s, raised so that no entry expires during the run"
        lines.append(f"| {mode.name} | {meaning} | {check.summary} | {status} |")
    lines.append("")
    if not response_cache:
        lines.append(
            "- **Warning:** this build has no `response_cache` setting: GATEWAY_RESPONSE_CACHE was ignored, so the "
            "response-cached rows measure the entity cache again."
        )
    for n in args.connections:
        ref, base = by[("reference", n)], by[("uncached", n)]
        ratios = ", ".join(
            f"{mode.name} {by[(mode.name, n)].rps:,.0f} (×{by[(mode.name, n)].rps / base.rps:.1f})"
            for mode in MODES[1:]
        )
        best = max((by[(mode.name, n)] for mode in MODES), key=lambda r: r.rps)
        lines.append(
            f"- {n} connections: uncached {base.rps:,.0f} req/s, {ratios}; plain strawberry {ref.rps:,.0f}: the "
            f"fastest gateway mode ({best.mode}) reaches {best.rps / ref.rps:.0%} of it."
        )
    if len(args.connections) > 1:
        low, high = min(args.connections), max(args.connections)
        changes = "; ".join(
            f"{mode} {by[(mode, high)].rps / by[(mode, low)].rps - 1:+.0%} req/s, p50 ×"
            f"{by[(mode, high)].pct(50) / by[(mode, low)].pct(50):.1f}"
            for mode in ("reference", *(m.name for m in MODES))
        )
        lines.append(
            f"- {low} → {high} connections: {changes}. Where req/s stays flat and p50 grows with the connections, "
            f"the server was already saturated at {low}: the extra connections only queue."
        )
    if any(by[("response-cached", n)].rps > by[("reference", n)].rps for n in args.connections):
        lines.append(
            "- A response-cache hit does not execute GraphQL: the gateway looks up the APQ hash and the stored "
            "response (two Redis round trips) and sends the stored bytes, where plain strawberry parses, validates "
            "and executes `{ __typename }` on every request; hence a cached product page can outrun it."
        )
    waiting = [r for r in results if r.mode == "uncached"]
    lines.append(
        "- Uncached, the gateway process used "
        + ", ".join(f"{r.server_cpu:.0%} of a core at {r.connections}" for r in waiting)
        + " while the machine was "
        + ", ".join(f"{r.machine_cpu:.0%} busy" for r in waiting)
        + (": it mostly waits for the stores" if max(r.server_cpu for r in waiting) < 0.6 else "")
        + "; the stores run on the same cores (MongoDB here is "
        + f"{versions[1]}{', on SQLite: every find scans its collection' if 'FerretDB' in versions[1] else ''})."
    )
    failed = [r for r in results if r.errors]
    if failed:
        lines.append(
            "- Errors: "
            + "; ".join(
                f"{r.mode} at {r.connections}: " + ", ".join(f"{kind} ×{n}" for kind, n in r.errors.most_common())
                for r in failed
            )
            + f". A store call over `GATEWAY_SOURCE_TIMEOUT_S` ({args.source_timeout_s:g} s"
            + (", the default" if args.source_timeout_s == DEFAULT_TIMEOUT_S else "")
            + ") answers "
            "TIMEOUT; failed requests are in neither req/s nor the percentiles. Requests still running at the end "
            "of the window are not counted either, which flatters p99 when it nears the window's length."
        )
    peak = max(results, key=lambda r: r.client_cpu)
    lines.append(
        f"- The client shares the machine: this one Python process (httpx, one AsyncClient per connection) runs "
        f"on the same {cores} cores as the server under test and the four stores. It used up to "
        f"{peak.client_cpu:.0%} of a core ({peak.server} {peak.mode}, {peak.connections} connections) while that "
        f"server used {peak.server_cpu:.0%}. One uvicorn process uses at most one core; when server + client "
        f"(+ the stores, uncached) approach {cores * 100}% (machine CPU), a row measures the machine, not the "
        "server. The client's CPU is taken from the fast rows most (plain strawberry, the response cache): they "
        "are understated, and their lead over the uncached rows (where the client is nearly idle) likely a lower "
        "bound; plain strawberry and the response cache pay for the client alike, so their ratio is the fairer one."
    )
    return "\n".join(lines) + "\n"


def write_section(args: argparse.Namespace, versions: list[str], body: str) -> None:
    env = "".join(f"{k}={v} " for k, v in sorted(os.environ.items()) if k in ("GATEWAY_MONGO_URL", "GATEWAY_MYSQL_URL"))
    command = f"{env}.venv/bin/python bench/cache.py --duration {args.duration:g} --warmup {args.warmup:g} "
    command += f"--connections {','.join(map(str, args.connections))} --orders {args.orders} --write"
    packages = ", ".join(f"{name} {metadata.version(name)}" for name in ("strawberry-graphql", "uvicorn", "httpx"))
    ids = f"{PRODUCT_IDS[0]}–{PRODUCT_IDS[-1]}"
    text = (
        f"`{command}` on {datetime.now(UTC):%Y-%m-%d}, {machine()}; {', '.join(versions)}; "
        f"{packages}. One run of the command measures every row. Each server is its own process: `python -m "
        "uvicorn` (one process, uvloop + httptools, access log off, 127.0.0.1), the gateway (`gateway.http.asgi:app`) "
        "restarted per mode with bench/read_path.py's settings (gateway_bench in MySQL and Mongo, synthetic "
        f"{args.orders:,} orders; Neo4j is the demo's graph) and plain strawberry (`strawberry.asgi.GraphQL` over "
        "a one-field schema) as the reference, answering `{ __typename }`. The gateway's request is the persisted "
        f"query `{PRODUCT_PAGE}`, registered once by APQ, then POSTed as its sha256 alone, as a guest, with `id` "
        f"cycling through the {len(PRODUCT_IDS)} products {ids} (one untimed pass over them fills the caches). "
        f"The client is one separate Python process: per row, that many httpx clients (one keep-alive connection "
        f"each) send requests back to back; {args.warmup:g} s of warm-up are not counted, then the requests that "
        f"finish within {args.duration:g} s are. Latency is from sending a request to its whole answer; an error "
        "is a status other than 200, `errors` in the answer, or a transport error. CPU columns: share of one core "
        "over the counted window (server: the uvicorn process; client: this bench; machine: every process, from "
        "/proc/stat).\n\n" + body
    )
    replace_section(ROOT / "BENCHMARKS.md", SECTION, text)  # this section only; the contents regenerated


def connection_counts(text: str) -> list[int]:
    counts = [int(part) for part in text.split(",") if part.strip()]
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError("comma-separated positive integers, e.g. 16,64")
    return counts


@contextlib.contextmanager
def cancelled_by_sigterm() -> Iterator[None]:
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, task.cancel)  # so the servers are stopped by the finally blocks
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=15.0, help="counted seconds per (server, connections)")
    parser.add_argument("--warmup", type=float, default=3.0, help="uncounted seconds before each")
    parser.add_argument("--connections", type=connection_counts, default=[16, 64], help="default: 16,64")
    parser.add_argument("--orders", type=int, default=20_000, help="synthetic dataset (read_path.py's default)")
    parser.add_argument("--write", action="store_true", help="replace (or add) this bench's section in BENCHMARKS.md")
    args = parser.parse_args()
    with cancelled_by_sigterm():
        versions, body = await run(args)
    print(body)
    if args.write:
        write_section(args, versions, body)
        print("BENCHMARKS.md updated")


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except (asyncio.CancelledError, KeyboardInterrupt):
        raise SystemExit("stopped (the bench's servers were stopped)") from None
