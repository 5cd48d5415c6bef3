"""Liveness (/health: the process answers) and readiness (/ready: every store answers a real request, the state of
its circuit breaker, and the process is not draining for shutdown: gateway/http/draining.py)."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from gateway.errors import SourceError
from gateway.stores import Source, Sources
from gateway.stores.mysql import outbox as mysql_outbox

log = logging.getLogger(__name__)


async def probe(source: Source) -> dict[str, Any]:
    """One ping through the store's breaker (while it is open the ping fails at once; once its cool-down is over,
    the ping is the probe that closes it), and the breaker's state after it."""
    start = time.perf_counter()
    try:
        await source.ping()
    except SourceError as exc:
        log.warning("readiness: %s down: %s", source.name, exc.detail)
        down = {"up": False, "latencyMs": _ms_since(start), "code": exc.code, "error": str(exc)}
        return {**down, "breaker": source.breaker.state}
    return {"up": True, "latencyMs": _ms_since(start), "breaker": source.breaker.state}


def _ms_since(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 2)


async def readiness(sources: Sources) -> tuple[bool, dict[str, Any]]:
    all_sources = sources.all()
    results = await asyncio.gather(*(probe(source) for source in all_sources))
    by_name = {source.name: result for source, result in zip(all_sources, results, strict=True)}
    down = [name for name, result in by_name.items() if not result["up"]]
    body: dict[str, Any] = {"status": "unavailable" if down else "ready", "down": down, "sources": by_name}
    if "mysql" not in down:
        body["outbox"] = await outbox_lag(sources)
    return not down, body


async def outbox_lag(sources: Sources) -> dict[str, Any]:
    """Events not yet applied to Neo4j/MongoDB, how old the oldest is, and how many are parked."""
    try:
        lag = await mysql_outbox.lag(sources.mysql, sources.mysql.timeout)
    except SourceError as exc:
        return {"error": str(exc)}
    return {"pending": lag.pending, "oldestPendingAgeS": round(lag.oldest_age_s, 3), "parked": lag.parked}


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def ready(request: Request) -> JSONResponse:
    headers = {"Cache-Control": "no-store"}
    if request.state.drain.active:  # shutting down: no store is asked, the answer is no
        return JSONResponse({"status": "draining", "draining": True}, status_code=503, headers=headers)
    ok, body = await readiness(request.state.sources)
    body["draining"] = False
    return JSONResponse(body, status_code=200 if ok else 503, headers=headers)
