"""What the relay writes to MongoDB: recomputed metrics (upserts), behaviour events keyed by outbox id, profiles
created when missing. Every write is an upsert or keyed by id, so a replay changes nothing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo import ReplaceOne, UpdateOne

from gateway.sources.base import guarded
from gateway.sources.mongo import DRIVER_ERRORS, Document, MongoSource
from gateway.sources.mongo_schema import EVENTS, PRODUCT_ATTRIBUTES, PRODUCT_METRICS, USER_PROFILES


async def replace_metrics(source: MongoSource, timeout: float, docs: Sequence[Document]) -> None:
    if not docs:
        return
    requests = [ReplaceOne({"_id": doc["_id"]}, doc, upsert=True) for doc in docs]
    await guarded(
        source.name,
        timeout,
        source.db[PRODUCT_METRICS].bulk_write(requests, ordered=False),
        DRIVER_ERRORS,
        operation="metrics_upsert",
        keys=[doc["_id"] for doc in docs],
    )


async def add_events(source: MongoSource, timeout: float, docs: Sequence[Document]) -> None:
    """Insert events whose ``_id`` is not there yet (the id is derived from the outbox id)."""
    if not docs:
        return
    requests = [UpdateOne({"_id": doc["_id"]}, {"$setOnInsert": doc}, upsert=True) for doc in docs]
    await guarded(
        source.name,
        timeout,
        source.db[EVENTS].bulk_write(requests, ordered=False),
        DRIVER_ERRORS,
        operation="events_upsert",
        keys=[doc["_id"] for doc in docs],
    )


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
