"""Sync status: how far the copies in MongoDB and Neo4j are from MySQL, for ``Query.syncStatus`` (admin).

Per store, counts of users, products and edges, each store read on its own (one that is down fails only its own
counts); the outbox backlog, lag and parked events (MySQL); and the last reconcile check, which
``Mutation.runReconcileCheck`` starts in the background (gateway/jobs/reconcile.py), one at a time across every
process (a lock in Redis), within ``GATEWAY_RECONCILE_CHECK_TIMEOUT_S``, and stores in Redis as JSON (its result,
or why it failed), where syncStatus reads it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from gateway.config import Settings
from gateway.errors import Conflict, SourceError
from gateway.jobs.reconcile import SAMPLE, check
from gateway.stores import Sources
from gateway.stores.guard import guarded
from gateway.stores.mongo import bulk as mongo_bulk
from gateway.stores.mysql import bulk as mysql_bulk
from gateway.stores.mysql import outbox as mysql_outbox
from gateway.stores.neo4j import bulk as neo4j_bulk
from gateway.stores.redis import carts as redis_carts
from gateway.stores.redis.client import DRIVER_ERRORS

log = logging.getLogger("gateway.reconcile")

CountedStore = Literal["mysql", "mongodb", "neo4j"]
COUNTED: tuple[CountedStore, ...] = ("mysql", "mongodb", "neo4j")
PARKED_SHOWN = 20


@dataclass(frozen=True, slots=True)
class StoreCounts:
    store: str
    users: int
    products: int
    edges: int | None  # MongoDB holds no edges


@dataclass(frozen=True, slots=True)
class OutboxStatus:
    pending: int
    lag_s: float
    parked_count: int
    parked: list[mysql_outbox.ParkedEvent]


@dataclass(frozen=True, slots=True)
class ComparisonResult:
    name: str
    store: str
    target: str
    source_count: int
    copy_count: int
    missing: int
    extra: int
    missing_sample: list[str]
    extra_sample: list[str]


@dataclass(frozen=True, slots=True)
class ReconcileRun:
    at: datetime
    duration_ms: float
    drift: bool | None  # None: the check failed
    comparisons: list[ComparisonResult]
    error: str | None  # why it failed

    def to_json(self) -> str:
        comparisons = [
            {
                "name": c.name,
                "store": c.store,
                "target": c.target,
                "sourceCount": c.source_count,
                "copyCount": c.copy_count,
                "missing": c.missing,
                "extra": c.extra,
                "missingSample": c.missing_sample,
                "extraSample": c.extra_sample,
            }
            for c in self.comparisons
        ]
        return json.dumps(
            {
                "at": self.at.isoformat(),
                "durationMs": self.duration_ms,
                "drift": self.drift,
                "comparisons": comparisons,
                "error": self.error,
            }
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> ReconcileRun:
        data: dict[str, Any] = json.loads(text)
        comparisons = [
            ComparisonResult(
                c["name"],
                c["store"],
                c["target"],
                int(c["sourceCount"]),
                int(c["copyCount"]),
                int(c["missing"]),
                int(c["extra"]),
                [str(k) for k in c["missingSample"]],
                [str(k) for k in c["extraSample"]],
            )
            for c in data["comparisons"]
        ]
        drift = None if data["drift"] is None else bool(data["drift"])
        return cls(datetime.fromisoformat(data["at"]), float(data["durationMs"]), drift, comparisons, data.get("error"))


def _keys(settings: Settings) -> tuple[str, str]:
    base = f"{settings.cache_namespace}:{settings.mysql_database}:reconcile:"
    return base + "lock", base + "last"


async def store_counts(sources: Sources, settings: Settings, store: CountedStore) -> StoreCounts:
    timeout = settings.source_timeout_s
    if store == "mysql":
        users, products, edges = await mysql_bulk.sync_counts(sources.mysql, timeout)
        return StoreCounts(store, users, products, edges)
    if store == "neo4j":
        users, products, edges = await neo4j_bulk.sync_counts(sources.neo4j, timeout)
        return StoreCounts(store, users, products, edges)
    users, products = await mongo_bulk.sync_counts(sources.mongodb, timeout)
    return StoreCounts(store, users, products, None)


async def outbox_status(sources: Sources, settings: Settings) -> OutboxStatus:
    timeout = settings.source_timeout_s
    lag, parked = await asyncio.gather(
        mysql_outbox.lag(sources.mysql, timeout), mysql_outbox.parked_events(sources.mysql, timeout, PARKED_SHOWN)
    )
    return OutboxStatus(lag.pending, round(lag.oldest_age_s, 3), lag.parked, parked)


async def last_reconcile(sources: Sources, settings: Settings) -> ReconcileRun | None:
    _, last = _keys(settings)
    redis = sources.redis
    stored: bytes | str | None = await guarded(
        redis, redis.timeout, redis.client.get(last), DRIVER_ERRORS, operation="reconcile_last"
    )
    return None if stored is None else ReconcileRun.from_json(stored)


def _sample(keys: frozenset[Any]) -> list[str]:
    return [str(k) for k in sorted(keys)[:SAMPLE]]


_RUNNING: set[asyncio.Task[None]] = set()  # the checks this process runs (a reference, so they are not collected)


@dataclass(frozen=True, slots=True)
class Started:
    at: datetime
    timeout_s: float


async def running(sources: Sources, settings: Settings) -> bool:
    """Whether a reconcile check holds the lock now (in any process)."""
    lock, _ = _keys(settings)
    redis = sources.redis
    held = await guarded(redis, redis.timeout, redis.client.exists(lock), DRIVER_ERRORS, operation="reconcile_lock")
    return bool(held)


async def start_check(sources: Sources, settings: Settings) -> Started:
    """Start a reconcile check in the background and answer at once (a check reads every key set: minutes on a
    large catalogue, longer than a request may take). Refused (CONFLICT) while another process runs one. The
    check is given up after ``reconcile_check_timeout_s``; its result, or why it failed (a store that is down, the
    bound), is stored for syncStatus, and the lock freed."""
    lock, _ = _keys(settings)
    bound = settings.reconcile_check_timeout_s
    # The lock outlives the bound a little: a process that dies mid-check frees it when it expires.
    token = await redis_carts.lock(sources.redis, key=lock, ttl_s=bound + 5.0)
    if token is None:
        raise Conflict("a reconcile check is running: try again when it has finished")
    at = datetime.now(UTC)
    task = asyncio.create_task(_run(sources, settings, token, at), name="reconcile-check")
    _RUNNING.add(task)
    task.add_done_callback(_RUNNING.discard)
    return Started(at, bound)


async def _run(sources: Sources, settings: Settings, token: str, at: datetime) -> None:
    lock, last = _keys(settings)
    bound = settings.reconcile_check_timeout_s
    started = time.perf_counter()
    try:
        try:
            report = await asyncio.wait_for(check(sources), bound)
        except TimeoutError:
            run = ReconcileRun(at, _ms(started), None, [], f"did not finish within {bound:g}s")
        except SourceError as exc:
            run = ReconcileRun(at, _ms(started), None, [], f"{exc} ({exc.code})")
        else:
            comparisons = [
                ComparisonResult(
                    c.name,
                    c.store,
                    c.target,
                    c.source_count,
                    c.copy_count,
                    len(c.missing),
                    len(c.extra),
                    _sample(c.missing),
                    _sample(c.extra),
                )
                for c in report.comparisons
            ]
            run = ReconcileRun(at, _ms(started), report.drift, comparisons, None)
        redis = sources.redis
        stored = redis.client.set(last, run.to_json())
        await guarded(redis, redis.timeout, stored, DRIVER_ERRORS, operation="reconcile_store")
    except Exception:
        log.exception("reconcile check started at %s: its result could not be stored", at.isoformat())
    finally:
        with contextlib.suppress(SourceError):  # else it expires on its own
            await redis_carts.unlock(sources.redis, key=lock, token=token)


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
