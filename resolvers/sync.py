"""Resolvers of ``Query.syncStatus`` and ``Mutation.runReconcileCheck`` (admin): gateway/jobs/sync_status.py."""

from __future__ import annotations

from gateway.errors import Forbidden
from gateway.jobs import sync_status
from gateway.jobs.sync_status import CountedStore, OutboxStatus, ReconcileRun, Started, StoreCounts
from resolvers.info import Resolving
from resolvers.permissions import signed_in


def admin(info: Resolving) -> None:
    if not signed_in(info).is_admin:
        raise Forbidden("only an admin reads the sync status")


async def counts(info: Resolving, store: CountedStore) -> StoreCounts:
    return await sync_status.store_counts(info.context.sources, info.context.settings, store)


async def outbox(info: Resolving) -> OutboxStatus:
    return await sync_status.outbox_status(info.context.sources, info.context.settings)


async def last_reconcile(info: Resolving) -> ReconcileRun | None:
    return await sync_status.last_reconcile(info.context.sources, info.context.settings)


async def reconcile_running(info: Resolving) -> bool:
    return await sync_status.running(info.context.sources, info.context.settings)


async def start_reconcile(info: Resolving) -> Started:
    if not signed_in(info).is_admin:
        raise Forbidden("only an admin runs a reconcile check")
    return await sync_status.start_check(info.context.sources, info.context.settings)
