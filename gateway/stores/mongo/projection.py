"""What the relay writes to MongoDB: recomputed metrics (upserts), behaviour events keyed by outbox id, profiles
created when missing. Every write is an upsert or keyed by id, so a replay changes nothing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from pymongo import ReplaceOne, UpdateOne
from pymongo.errors import BulkWriteError

from gateway.stores.guard import guarded
from gateway.stores.mongo.client import DRIVER_ERRORS, Document, MongoSource
from gateway.stores.mongo.schema import EVENTS, FORGOTTEN_USERS, PRODUCT_ATTRIBUTES, PRODUCT_METRICS, USER_PROFILES

DUPLICATE_KEY = 11000


async def _bulk(
    source: MongoSource, timeout: float, collection: str, requests: list[Any], keys: list[Any], operation: str
) -> None:
    """One unordered bulk_write for a round's writes to ``collection`` (each finds its document by ``_id``)."""
    await guarded(
        source,
        timeout,
        source.relay[collection].bulk_write(requests, ordered=False),
        DRIVER_ERRORS,
        operation=operation,
        keys=keys,
    )


async def replace_metrics(source: MongoSource, timeout: float, docs: Sequence[Document]) -> None:
    if not docs:
        return
    requests = [ReplaceOne({"_id": doc["_id"]}, doc, upsert=True) for doc in docs]
    await _bulk(source, timeout, PRODUCT_METRICS, requests, [doc["_id"] for doc in docs], "metrics_upsert")


async def add_events(source: MongoSource, timeout: float, docs: Sequence[Document]) -> None:
    """Insert events whose ``_id`` is not there yet (the id is derived from the outbox id), in one insert_many: a
    replay's inserts fail on the unique ``_id`` and are ignored. Inserts, not upserts: the events collection only
    grows, and an event once written never changes."""
    if not docs:
        return
    await guarded(
        source,
        timeout,
        _insert_new(source, docs),
        DRIVER_ERRORS,
        operation="events_insert",
        keys=[d["_id"] for d in docs],
    )


async def _insert_new(source: MongoSource, docs: Sequence[Document]) -> None:
    try:
        await source.relay[EVENTS].insert_many(list(docs), ordered=False)
    except BulkWriteError as exc:
        if any(error.get("code") != DUPLICATE_KEY for error in exc.details.get("writeErrors", [])):
            raise
        if exc.details.get("writeConcernErrors"):
            raise


async def ensure_profile(source: MongoSource, timeout: float, doc: Document) -> None:
    await guarded(
        source,
        timeout,
        source.relay[USER_PROFILES].update_one({"_id": doc["_id"]}, {"$setOnInsert": doc}, upsert=True),
        DRIVER_ERRORS,
        operation="profile_upsert",
        keys=[doc["_id"]],
    )


async def set_profile_stats(
    source: MongoSource, timeout: float, stats: Mapping[int, Mapping[str, int | float | None]]
) -> None:
    """Set these statistics in each user's profile (a None value removes the field), one unordered bulk write. Only
    profiles that exist: a user's profile is created by their ``user.registered`` event, which sets the statistics
    too, so a rating applied before it is not lost."""
    if not stats:
        return
    requests = []
    for user_id, values in sorted(stats.items()):
        update: dict[str, Any] = {}
        if kept := {f"stats.{name}": value for name, value in values.items() if value is not None}:
            update["$set"] = kept
        if gone := {f"stats.{name}": "" for name, value in values.items() if value is None}:
            update["$unset"] = gone
        requests.append(UpdateOne({"_id": user_id}, update))
    await _bulk(source, timeout, USER_PROFILES, requests, sorted(stats), "profile_stats_update")


async def forget_product(source: MongoSource, timeout: float, product_id: int) -> None:
    async def run() -> Any:
        await source.relay[PRODUCT_ATTRIBUTES].delete_one({"_id": product_id})
        await source.relay[PRODUCT_METRICS].delete_one({"_id": product_id})

    await guarded(source, timeout, run(), DRIVER_ERRORS, operation="product_delete", keys=[product_id])


async def forget_user(source: MongoSource, timeout: float, user_id: int) -> list[str]:
    """A forgotten user's profile and behaviour events go; answers the guest session ids those events named (their
    carts in Redis go too). Idempotent: a replay finds nothing left. The user's tombstone is written first: an event
    recorder whose batch lands after the delete finds it and removes what it wrote (recorder.py)."""

    async def run() -> list[str]:
        await source.db[FORGOTTEN_USERS].update_one(
            {"_id": user_id}, {"$setOnInsert": {"at": datetime.now(UTC)}}, upsert=True
        )
        sessions = await source.db[EVENTS].distinct("session_id", {"user_id": user_id})
        await source.db[EVENTS].delete_many({"user_id": user_id})
        await source.db[USER_PROFILES].delete_one({"_id": user_id})
        return sorted(str(s) for s in sessions if isinstance(s, str) and s)

    found: list[str] = await guarded(source, timeout, run(), DRIVER_ERRORS, operation="user_forget", keys=[user_id])
    return found
