"""The sync status of the copies in MongoDB and Neo4j against MySQL (admin), and the reconcile check."""

from __future__ import annotations

from datetime import datetime

import strawberry

from gateway.jobs import sync_status as jobs
from gateway.stores.mysql.outbox import ParkedEvent as ParkedRecord
from resolvers import sync
from resolvers.info import Info


@strawberry.type(description="What one store holds: users, products and edges, counted in the store itself.")
class StoreCounts:
    users: int = strawberry.field(description="MySQL: users not forgotten; MongoDB: profiles; Neo4j: User nodes.")
    products: int = strawberry.field(description="MySQL: products; MongoDB: attribute documents; Neo4j: nodes.")
    edges: int | None = strawberry.field(
        description="Neo4j: relationships; MySQL: the rows they stand for (ratings, product categories, category "
        "parents, lines of orders not cancelled); null for MongoDB, which holds no edges."
    )

    @classmethod
    def from_record(cls, record: jobs.StoreCounts) -> StoreCounts:
        return cls(users=record.users, products=record.products, edges=record.edges)


@strawberry.type(description="An outbox event the relay gave up on (its own failure, too many times).")
class ParkedEvent:
    id: strawberry.ID
    event_type: str
    aggregate_type: str
    aggregate_id: str
    attempts: int
    error: str | None
    parked_at: datetime

    @classmethod
    def from_record(cls, r: ParkedRecord) -> ParkedEvent:
        return cls(
            id=strawberry.ID(str(r.id)),
            event_type=r.event_type,
            aggregate_type=r.aggregate_type,
            aggregate_id=r.aggregate_id,
            attempts=r.attempts,
            error=r.error,
            parked_at=r.parked_at,
        )


@strawberry.type(description="The outbox (MySQL): what the relay has still to apply.")
class OutboxStatus:
    pending: int = strawberry.field(description="Events not yet applied (parked ones aside).")
    lag_seconds: float = strawberry.field(description="Age of the oldest pending event, in seconds (0: none).")
    parked_count: int
    parked: list[ParkedEvent] = strawberry.field(description="The newest 20 parked events, with their errors.")

    @classmethod
    def from_record(cls, r: jobs.OutboxStatus) -> OutboxStatus:
        return cls(
            pending=r.pending,
            lag_seconds=r.lag_s,
            parked_count=r.parked_count,
            parked=[ParkedEvent.from_record(p) for p in r.parked],
        )


@strawberry.type(description="One comparison of a reconcile check: a MySQL key set and its copy in another store.")
class ReconcileComparison:
    name: str
    store: str
    target: str = strawberry.field(description="The collection, node label or relationship type compared.")
    source_count: int
    copy_count: int
    missing: int = strawberry.field(description="Keys in MySQL, not in the copy.")
    extra: int = strawberry.field(description="Keys in the copy, not in MySQL.")
    missing_sample: list[str]
    extra_sample: list[str]

    @classmethod
    def from_record(cls, c: jobs.ComparisonResult) -> ReconcileComparison:
        return cls(
            name=c.name,
            store=c.store,
            target=c.target,
            source_count=c.source_count,
            copy_count=c.copy_count,
            missing=c.missing,
            extra=c.extra,
            missing_sample=c.missing_sample,
            extra_sample=c.extra_sample,
        )


@strawberry.type(description="A reconcile check's result, as stored in Redis by the check runReconcileCheck started.")
class ReconcileRun:
    at: datetime = strawberry.field(description="When the check started.")
    duration_ms: float
    drift: bool | None = strawberry.field(description="Whether any copy differs from MySQL; null when it failed.")
    error: str | None = strawberry.field(description="Why the check failed (a store down, the time bound); else null.")
    comparisons: list[ReconcileComparison] = strawberry.field(description="Empty when the check failed.")

    @classmethod
    def from_record(cls, r: jobs.ReconcileRun) -> ReconcileRun:
        return cls(
            at=r.at,
            duration_ms=r.duration_ms,
            drift=r.drift,
            error=r.error,
            comparisons=[ReconcileComparison.from_record(c) for c in r.comparisons],
        )


@strawberry.type(
    description="How far MongoDB and Neo4j are from MySQL. Each store's counts are read from that store alone: null "
    "(with a SOURCE_UNAVAILABLE error) when it is down, the rest still answers."
)
class SyncStatus:
    @strawberry.field
    async def mysql(self, info: Info) -> StoreCounts | None:
        return StoreCounts.from_record(await sync.counts(info, "mysql"))

    @strawberry.field
    async def mongodb(self, info: Info) -> StoreCounts | None:
        return StoreCounts.from_record(await sync.counts(info, "mongodb"))

    @strawberry.field
    async def neo4j(self, info: Info) -> StoreCounts | None:
        return StoreCounts.from_record(await sync.counts(info, "neo4j"))

    @strawberry.field(description="The outbox backlog, its lag and the parked events (MySQL).")
    async def outbox(self, info: Info) -> OutboxStatus | None:
        return OutboxStatus.from_record(await sync.outbox(info))

    @strawberry.field(description="Whether a reconcile check is running now, in any process (Redis).")
    async def reconcile_running(self, info: Info) -> bool | None:
        return await sync.reconcile_running(info)

    @strawberry.field(description="The last reconcile check (Redis); null when none finished yet.")
    async def last_reconcile(self, info: Info) -> ReconcileRun | None:
        record = await sync.last_reconcile(info)
        return None if record is None else ReconcileRun.from_record(record)


def sync_status(info: Info) -> SyncStatus | None:
    sync.admin(info)
    return SyncStatus()


@strawberry.type(description="A reconcile check started in the background.")
class ReconcileCheckStarted:
    started_at: datetime = strawberry.field(description="syncStatus.lastReconcile.at once it has finished.")
    timeout_seconds: float = strawberry.field(description="It is given up after this long (an error is stored).")


@strawberry.type
class SyncMutations:
    @strawberry.mutation(
        description="Admin: start a reconcile check (read-only: MySQL against MongoDB and Neo4j) in the background; "
        "its result, or why it failed (a store down, GATEWAY_RECONCILE_CHECK_TIMEOUT_S passed), is stored for "
        "syncStatus.lastReconcile. One at a time across every process: CONFLICT while one runs."
    )
    async def run_reconcile_check(self, info: Info) -> ReconcileCheckStarted:
        started = await sync.start_reconcile(info)
        return ReconcileCheckStarted(started_at=started.at, timeout_seconds=started.timeout_s)
