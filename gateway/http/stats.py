"""GET /stats: the gateway's state as JSON, for people (``/metrics`` is for Prometheus). Admin only: an admin
Bearer token, else 401 (no token) or 403 (not an admin), the same rule as the GraphQL admin fields.

What this process counted (the counters of gateway/observability/metrics.py, read in this process):
  caches      entity, response, APQ and memory: hit rate since this app started and over the last minute (a
              sample of the counters is taken every ``SAMPLE_S``; the minute is measured from the newest sample at
              least 60 s old, else from the start), lookups in each window
  stores      per store: round trips and errors (rate) in both windows, the breaker's state, the pool's size and
              use where the driver says (MySQL and Redis; the MongoDB and Neo4j drivers publish their bound only)
  requests    GraphQL requests over HTTP per second in both windows
What is read live, each part bounded and failing alone (null with an ``error``):
  redis       key counts per cache (one SCAN of the database, stopped after ``SCAN_LIMIT`` keys: ``complete``
              says whether it saw them all), used memory and the database's size
  outbox      backlog, lag and parked events (MySQL)
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Iterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gateway.auth import TokenError, viewer_from
from gateway.config import SOURCE_NAMES, Settings
from gateway.errors import SourceError
from gateway.observability import metrics
from gateway.stores import Sources, breaker
from gateway.stores.mysql import outbox as mysql_outbox
from gateway.stores.redis import keyspace as redis_keyspace
from gateway.stores.redis import persisted as redis_persisted
from loaders.cached import keys_for

SAMPLE_S = 5.0
WINDOW_S = 60.0
SCAN_LIMIT = 200_000

Counts = dict[str, float]


def _samples(metric: Any) -> Iterator[tuple[dict[str, str], float]]:
    for family in metric.collect():
        for sample in family.samples:
            if sample.name.endswith("_total"):
                yield sample.labels, sample.value


def counters() -> Counts:
    """Every counter /stats reads, flattened: ``cache:<kind>:<outcome>``, ``calls:<source>``, ``errors:<source>``,
    ``requests``."""
    counts: Counts = {}
    for labels, value in _samples(metrics.CACHE):
        key = f"cache:{labels['kind']}:{labels['outcome']}"
        counts[key] = counts.get(key, 0.0) + value
    for labels, value in _samples(metrics.STORE_CALLS):
        key = f"calls:{labels['source']}"
        counts[key] = counts.get(key, 0.0) + value
    for labels, value in _samples(metrics.STORE_ERRORS):
        key = f"errors:{labels['source']}"
        counts[key] = counts.get(key, 0.0) + value
    counts["requests"] = sum(value for _, value in _samples(metrics.REQUESTS))
    return counts


class Sampler:
    """The counters at this app's start and every ``SAMPLE_S`` since, kept for a little over a minute."""

    def __init__(self) -> None:
        self.started = (time.monotonic(), counters())
        self.samples: deque[tuple[float, Counts]] = deque()

    def sample(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self.samples.append((now, counters()))
        while len(self.samples) > 1 and self.samples[1][0] <= now - WINDOW_S:
            self.samples.popleft()

    def minute_ago(self, now: float) -> tuple[float, Counts]:
        """The newest sample at least a minute old, else the start."""
        found = self.started
        for at, counts in self.samples:
            if at <= now - WINDOW_S:
                found = (at, counts)
        return found

    async def run(self) -> None:
        while True:
            await asyncio.sleep(SAMPLE_S)
            self.sample()


def _delta(now: Counts, then: Counts) -> Counts:
    return {key: value - then.get(key, 0.0) for key, value in now.items()}


def _sum(counts: Counts, prefix: str, outcomes: tuple[str, ...] | None = None) -> float:
    return sum(
        v for k, v in counts.items() if k.startswith(prefix) and (outcomes is None or k.rsplit(":", 1)[1] in outcomes)
    )


def _rate(hits: float, lookups: float) -> float | None:
    return None if lookups <= 0 else round(hits / lookups, 4)


ENTITY_OUTCOMES = ("hit", "miss", "bypassed")
NOT_ENTITY = ("cache:response:", "cache:persisted:")


def _caches(d: Counts) -> dict[str, dict[str, Any]]:
    entity = {k: v for k, v in d.items() if k.startswith("cache:") and not k.startswith(NOT_ENTITY)}
    entity_hits = _sum(entity, "cache:", ("hit",))
    entity_lookups = _sum(entity, "cache:", ENTITY_OUTCOMES)
    # A response lookup ends as one outcome: hit (Redis), hit-local (memory), miss/stored/not stored, bypassed.
    response_lookups = _sum(d, "cache:response:")
    response_redis = _sum(d, "cache:response:", ("hit",))
    response_memory = _sum(d, "cache:response:", ("hit-local",))
    # A hash-only request: from a manifest, memory or Redis; anything else is a miss.
    apq_lookups = _sum(d, "cache:persisted:")
    apq_memory = _sum(d, "cache:persisted:", ("memory",))
    apq_hits = _sum(d, "cache:persisted:", ("memory", "redis", "manifest"))
    return {
        "entity": {"hitRate": _rate(entity_hits, entity_lookups), "lookups": int(entity_lookups)},
        "response": {
            "hitRate": _rate(response_redis + response_memory, response_lookups),
            "lookups": int(response_lookups),
        },
        "apq": {"hitRate": _rate(apq_hits, apq_lookups), "lookups": int(apq_lookups)},
        "memory": {
            "hitRate": _rate(response_memory + apq_memory, response_lookups + apq_lookups),
            "lookups": int(response_lookups + apq_lookups),
        },
    }


def _stores(d: Counts, seconds: float) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name in SOURCE_NAMES:
        calls, errors = d.get(f"calls:{name}", 0.0), d.get(f"errors:{name}", 0.0)
        out[name] = {
            "roundTrips": int(calls),
            "roundTripsPerS": round(calls / seconds, 3) if seconds > 0 else None,
            "errors": int(errors),
            "errorRate": _rate(errors, calls),
        }
    return out


def _window(now: tuple[float, Counts], then: tuple[float, Counts]) -> dict[str, Any]:
    seconds = max(now[0] - then[0], 0.0)
    d = _delta(now[1], then[1])
    return {
        "seconds": round(seconds, 1),
        "caches": _caches(d),
        "stores": _stores(d, seconds),
        "requests": int(d.get("requests", 0.0)),
        "requestsPerS": round(d.get("requests", 0.0) / seconds, 3) if seconds > 0 else None,
    }


def pools(sources: Sources) -> dict[str, dict[str, Any]]:
    """Each store client's pool as its driver reports it (``Source.pool``); what a driver does not publish is null."""
    out: dict[str, dict[str, Any]] = {}
    for name in SOURCE_NAMES:
        use = sources.by_name(name).pool()
        out[name] = {"size": use.size, "open": use.open, "inUse": use.in_use}
    return out


async def redis_keys(sources: Sources, settings: Settings) -> dict[str, Any]:
    """Key counts per cache (one bounded SCAN), the memory Redis uses and its database size."""
    keys = keys_for(settings)
    families = {  # the response family first: its prefix also starts with the entities'
        "response": keys.response(""),
        "entity": f"{keys.namespace}:{keys.version}:",
        "apq": redis_persisted.PREFIX,
    }
    found = await redis_keyspace.keyspace(sources.redis, families, SCAN_LIMIT, sources.redis.timeout * 5)
    return {
        "keys": found.counts,
        "complete": found.complete,
        "databaseKeys": found.database_keys,
        "usedMemoryBytes": found.used_memory_bytes,
        "usedMemory": found.used_memory,
    }


async def outbox(sources: Sources) -> dict[str, Any]:
    lag = await mysql_outbox.lag(sources.mysql, sources.mysql.timeout)
    return {"pending": lag.pending, "lagSeconds": round(lag.oldest_age_s, 3), "parked": lag.parked}


async def _part(read: Any) -> dict[str, Any]:
    try:
        found: dict[str, Any] = await read
    except SourceError as exc:
        return {"error": {"code": exc.code, "source": exc.source, "message": str(exc)}}
    return found


def refusal(request: Request, settings: Settings) -> Response | None:
    header = request.headers.get("authorization")
    if header is None:
        return JSONResponse(
            {"error": "UNAUTHENTICATED", "message": "send Authorization: Bearer <admin token>"},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    try:
        viewer = viewer_from(settings, header)
    except TokenError as exc:
        return JSONResponse({"error": "UNAUTHENTICATED", "message": str(exc)}, status_code=401)
    if viewer is None or not viewer.is_admin:
        return JSONResponse({"error": "FORBIDDEN", "message": "only an admin reads /stats"}, status_code=403)
    return None


def stats_endpoint(settings: Settings, sampler: Sampler) -> Any:
    async def endpoint(request: Request) -> Response:
        if (refused := refusal(request, settings)) is not None:
            return refused
        sources: Sources = request.state.sources
        now = time.monotonic()
        sampler.sample(now)
        current = (now, sampler.samples[-1][1])
        redis, backlog = await asyncio.gather(_part(redis_keys(sources, settings)), _part(outbox(sources)))
        http = getattr(request.app.state, "graphql_http", None)
        memory = http.memory_stats() if http is not None else {}
        states = breaker.breaker_states()
        store_pools = pools(sources)
        body = {
            "uptimeSeconds": round(now - sampler.started[0], 1),
            "sinceStart": _window(current, sampler.started),
            "lastMinute": _window(current, sampler.minute_ago(now)),
            "stores": {name: {"breaker": states.get(name), "pool": store_pools[name]} for name in SOURCE_NAMES},
            "memory": {
                name: {"bytes": m.bytes, "entries": m.entries, "capacityBytes": m.capacity}
                for name, m in sorted(memory.items())
            },
            "redis": redis,
            "outbox": backlog,
        }
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    return endpoint
