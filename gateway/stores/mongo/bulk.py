"""Batched MongoDB reads and writes by ``_id`` (no transactions: each write is idempotent on its own).

Being idempotent, a write that meets a pooled connection the server closed (``AutoReconnect``: the server restarted
since the connection was made) is sent once more: PyMongo retries single-document writes itself, never a
``delete_many`` or an unordered ``insert_many``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from pymongo.errors import AutoReconnect

from gateway.stores.guard import bulk_bound, guarded
from gateway.stores.mongo.client import DRIVER_ERRORS, Document, MongoSource
from gateway.stores.mongo.schema import PRODUCT_ATTRIBUTES, USER_PROFILES

T = TypeVar("T")


async def _once_more(write: Callable[[], Awaitable[T]]) -> T:
    try:
        return await write()
    except AutoReconnect:
        return await write()


async def _insert_missing(source: MongoSource, collection: str, docs: Sequence[Document]) -> int:
    coll = source.db[collection]
    ids = [doc["_id"] for doc in docs]
    present = {doc["_id"] async for doc in coll.find({"_id": {"$in": ids}}, {"_id": 1})}
    missing = [doc for doc in docs if doc["_id"] not in present]
    if missing:
        await coll.insert_many(missing, ordered=False)
    return len(missing)


async def insert_missing(source: MongoSource, collection: str, docs: Sequence[Document]) -> int:
    """Insert the documents whose ``_id`` is not there yet (one find and one insert_many); returns written."""
    if not docs:
        return 0
    written = _once_more(lambda: _insert_missing(source, collection, docs))
    return await guarded(source, bulk_bound(source, 60.0), written, DRIVER_ERRORS)


async def _ids(source: MongoSource, collection: str) -> set[Any]:
    return {doc["_id"] async for doc in source.db[collection].find({}, {"_id": 1})}


async def id_set(source: MongoSource, collection: str) -> set[Any]:
    return await guarded(source, bulk_bound(source, 120.0), _ids(source, collection), DRIVER_ERRORS)


async def delete_ids(source: MongoSource, collection: str, ids: Sequence[Any]) -> int:
    deleted = _once_more(lambda: source.db[collection].delete_many({"_id": {"$in": list(ids)}}))
    result = await guarded(source, bulk_bound(source, 60.0), deleted, DRIVER_ERRORS)
    return int(result.deleted_count)


async def find_by_ids(source: MongoSource, collection: str, ids: Sequence[Any]) -> list[Document]:
    async def run() -> list[Document]:
        return [doc async for doc in source.db[collection].find({"_id": {"$in": list(ids)}})]

    return await guarded(source, bulk_bound(source, 60.0), run(), DRIVER_ERRORS)


async def sync_counts(source: MongoSource, timeout: float) -> tuple[int, int]:
    """User profiles and product attribute documents."""

    async def go() -> tuple[int, int]:
        users = await source.db[USER_PROFILES].count_documents({})
        products = await source.db[PRODUCT_ATTRIBUTES].count_documents({})
        return int(users), int(products)

    return await guarded(source, timeout, go(), DRIVER_ERRORS, operation="sync_counts")
