"""``Query.syncStatus`` (admin): no data of its own; each of its fields reads one store, the rest are records of
gateway/jobs/sync_status.py read as leaves."""

from __future__ import annotations

from typing import Any

from engine.fields.base import Args, Batch, Call, Each, Impl, Leaf
from gateway.jobs.sync_status import CountedStore
from resolvers import sync

_SYNC = object()


def _sync_status(call: Call, parent: Any, args: Args) -> object:
    sync.admin(call)
    return _SYNC


def _counts(store: CountedStore) -> Batch:
    async def field(call: Call, parents: list[Any], args: Args) -> list[Any]:
        try:
            value: Any = await sync.counts(call, store)
        except Exception as exc:
            value = exc
        return [value] * len(parents)

    return Batch(field)


async def _outbox(call: Call, parents: list[Any], args: Args) -> list[Any]:
    try:
        value: Any = await sync.outbox(call)
    except Exception as exc:
        value = exc
    return [value] * len(parents)


async def _last_reconcile(call: Call, parents: list[Any], args: Args) -> list[Any]:
    try:
        value: Any = await sync.last_reconcile(call)
    except Exception as exc:
        value = exc
    return [value] * len(parents)


async def _reconcile_running(call: Call, parents: list[Any], args: Args) -> list[Any]:
    try:
        value: Any = await sync.reconcile_running(call)
    except Exception as exc:
        value = exc
    return [value] * len(parents)


def _parked(call: Call, outbox: Any, args: Args) -> Any:
    return outbox.parked


def _comparisons(call: Call, run: Any, args: Args) -> Any:
    return run.comparisons


FIELDS: dict[str, Impl] = {
    "Query.syncStatus": Each(_sync_status),
    "SyncStatus.mysql": _counts("mysql"),
    "SyncStatus.mongodb": _counts("mongodb"),
    "SyncStatus.neo4j": _counts("neo4j"),
    "SyncStatus.outbox": Batch(_outbox),
    "SyncStatus.reconcileRunning": Batch(_reconcile_running),
    "SyncStatus.lastReconcile": Batch(_last_reconcile),
    "StoreCounts.users": Leaf("s.users"),
    "StoreCounts.products": Leaf("s.products"),
    "StoreCounts.edges": Leaf("s.edges"),
    "OutboxStatus.pending": Leaf("s.pending"),
    "OutboxStatus.lagSeconds": Leaf("s.lag_s"),
    "OutboxStatus.parkedCount": Leaf("s.parked_count"),
    "OutboxStatus.parked": Each(_parked),
    "ParkedEvent.id": Leaf("s.id"),
    "ParkedEvent.eventType": Leaf("s.event_type"),
    "ParkedEvent.aggregateType": Leaf("s.aggregate_type"),
    "ParkedEvent.aggregateId": Leaf("s.aggregate_id"),
    "ParkedEvent.attempts": Leaf("s.attempts"),
    "ParkedEvent.error": Leaf("s.error"),
    "ParkedEvent.parkedAt": Leaf("s.parked_at"),
    "ReconcileRun.at": Leaf("s.at"),
    "ReconcileRun.durationMs": Leaf("s.duration_ms"),
    "ReconcileRun.drift": Leaf("s.drift"),
    "ReconcileRun.error": Leaf("s.error"),
    "ReconcileRun.comparisons": Each(_comparisons),
    "ReconcileComparison.name": Leaf("s.name"),
    "ReconcileComparison.store": Leaf("s.store"),
    "ReconcileComparison.target": Leaf("s.target"),
    "ReconcileComparison.sourceCount": Leaf("s.source_count"),
    "ReconcileComparison.copyCount": Leaf("s.copy_count"),
    "ReconcileComparison.missing": Leaf("s.missing"),
    "ReconcileComparison.extra": Leaf("s.extra"),
    "ReconcileComparison.missingSample": Leaf("s.missing_sample"),
    "ReconcileComparison.extraSample": Leaf("s.extra_sample"),
}
