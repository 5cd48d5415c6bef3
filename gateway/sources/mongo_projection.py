"""What the relay writes to MongoDB: recomputed metrics (upserts), behaviour events keyed by outbox id, profiles
created when missing. Every write is an upsert or keyed by id, so a replay changes nothing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo import ReplaceOne, UpdateOne

from gateway.sources.base import guarded
from gateway.sources.mongo import DRIVER_ERRORS, Document, MongoSource
from gateway.sources.mongo_schema import EVENTS, PRODUCT_ATTRIBUTES, PRODUCT_METRICS, USER_PROFILES

# Writes per bulk_write. FerretDB 1.24.2 deadlocks once 100 updates of existing documents are in flight on its pool
# of 100 SQLite connections (one command of 101 such updates hangs on its own; found by bench/writes.py), so the
# relay's round writes go in sequential chunks well under that.
CHUNK = 50


async def _bulk(
    source: MongoSource, timeout: float, collection: str, requests: list[Any], keys: list[Any], operation: str
) -> None:
    for start in range(0, len(requests), CHUNK):
        await guarded(
            source.name,
            timeout,
            source.db[collection].bulk_write(requests[start : start + CHUNK], ordered=False),
            DRIVER_ERRORS,
            operation=operation,
            keys=keys[start : start + CHUNK],
        )


async def replace_metrics(source: MongoSource, timeout: float, docs: Sequence[Document]) -> None:
    if not docs:
        return
    requests = [ReplaceOne({"_id": doc["_id"]}, doc, upsert=True) for doc in docs]
    await _bulk(source, timeout, PRODUCT_METRICS, requests, [doc["_id"] for doc in docs], "metrics_upsert")


async def add_events(source: MongoSource, timeout: float, docs: Sequence[Document]) -> None:
    """Insert events whose ``_id`` is not there yet (the id is derived from the outbox id)."""
    if not docs:
        return
    requests = [UpdateOne({"_id": doc["_id"]}, {"$setOnInsert": doc}, upsert=True) for doc in docs]
    await _bulk(source, timeout, EVENTS, requests, [doc["_id"] for doc in docs], "events_upsert")


async def ensure_profile(source: MongoSource, timeout: float, doc: Document) -> None:
    await guarded(
        source.name,
        timeout,
        source.db[USER_PROFILES].update_one({"_id": doc["_id"]}, {"$setOnInsert": doc}, upsert=True),
        DRIVER_ERRORS,
        operation="profile_upsert",
        keys=[doc["_id"]],
    )


async def forget_product(source: MongoSource, timeout: float, product_id: int) -> None:
    async def run() -> Any:
        await source.db[PRODUCT_ATTRIBUTES].delete_one({"_id": product_id})
        await source.db[PRODUCT_METRICS].delete_one({"_id": product_id})

    await guarded(source.name, timeout, run(), DRIVER_ERRORS, operation="product_delete", keys=[product_id])
