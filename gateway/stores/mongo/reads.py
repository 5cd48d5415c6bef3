"""Batched MongoDB reads for the read path: each function is ONE find command (no getMore: the batch size
covers every key), aligned to the keys asked for. Joins across stores happen in the gateway.

Documents mutations write (product attributes, the attribute registry, profiles: their preferences) are read from
the primary, so that a mutation's writer reads its write back; derived ones (metrics) follow
``GATEWAY_MONGO_READ_PREFERENCE``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo import ASCENDING, DESCENDING

from gateway.domain.records import MetricsRecord, ProductDocumentRecord, ProfileRecord, utc
from gateway.domain.selection import AttributeCondition
from gateway.stores.guard import guarded
from gateway.stores.mongo.client import DRIVER_ERRORS, Document, MongoSource
from gateway.stores.mongo.schema import ATTRIBUTE_REGISTRY, PRODUCT_ATTRIBUTES, PRODUCT_METRICS, USER_PROFILES

# Wide enough that every answer of a batch fits in the first reply (a batch is at most a few thousand keys).
_BATCH = 100_000
# Written by mutations (updateProfile sets a profile's preferences): always from the primary.
_OWNED = frozenset({PRODUCT_ATTRIBUTES, ATTRIBUTE_REGISTRY, USER_PROFILES})


async def _find(
    source: MongoSource,
    collection: str,
    operation: str,
    keys: Sequence[Any],
    query: Document,
    projection: Document | None = None,
    sort: list[tuple[str, int]] | None = None,
) -> list[Document]:
    async def run() -> list[Document]:
        db = source.primary if collection in _OWNED else source.db
        cursor = db[collection].find(query, projection, sort=sort, batch_size=_BATCH)
        return await cursor.to_list()

    return await guarded(source, source.timeout, run(), DRIVER_ERRORS, operation=operation, keys=keys)


async def _by_id(source: MongoSource, collection: str, ids: Sequence[int]) -> list[Document | None]:
    docs = await _find(source, collection, f"{collection}_by_id", ids, {"_id": {"$in": list(ids)}})
    found = {doc["_id"]: doc for doc in docs}
    return [found.get(key) for key in ids]


async def product_documents(source: MongoSource, product_ids: Sequence[int]) -> list[ProductDocumentRecord | None]:
    return [
        None
        if doc is None
        else ProductDocumentRecord(
            id=doc["_id"],
            attributes=dict(doc.get("attributes") or {}),
            description=doc.get("description"),
            tags=tuple(doc.get("tags") or ()),
            images=tuple(doc.get("images") or ()),
        )
        for doc in await _by_id(source, PRODUCT_ATTRIBUTES, product_ids)
    ]


async def metrics(source: MongoSource, product_ids: Sequence[int]) -> list[MetricsRecord | None]:
    return [
        None
        if doc is None
        else MetricsRecord(
            id=doc["_id"],
            rating_avg=doc.get("rating_avg"),
            rating_count=int(doc.get("rating_count") or 0),
            rating_std=doc.get("rating_std"),
            popularity=int(doc.get("popularity") or 0),
            updated_at=utc(doc["updated_at"]),
        )
        for doc in await _by_id(source, PRODUCT_METRICS, product_ids)
    ]


async def profiles(source: MongoSource, user_ids: Sequence[int]) -> list[ProfileRecord | None]:
    return [
        None
        if doc is None
        else ProfileRecord(
            id=doc["_id"], preferences=dict(doc.get("preferences") or {}), stats=dict(doc.get("stats") or {})
        )
        for doc in await _by_id(source, USER_PROFILES, user_ids)
    ]


async def attribute_registry(source: MongoSource) -> dict[int, dict[str, str]]:
    """The whole registry (category id → attribute name → type): a few dozen small documents."""
    docs = await _find(source, ATTRIBUTE_REGISTRY, "attribute_registry", (), {})
    return {doc["_id"]: dict(doc.get("attributes") or {}) for doc in docs}


async def product_ids_with_attributes(source: MongoSource, conditions: Sequence[AttributeCondition]) -> list[int]:
    """Ids of the products whose attributes match every condition (equality, ``$in``, or list membership)."""
    query: Document = {}
    for condition in conditions:
        values = list(condition.values)
        query[f"attributes.{condition.name}"] = values[0] if len(values) == 1 else {"$in": values}
    docs = await _find(source, PRODUCT_ATTRIBUTES, "product_ids_with_attributes", (), query, {"_id": 1})
    return sorted(doc["_id"] for doc in docs)


SORTABLE_METRICS = ("rating_avg", "popularity")


async def ids_by_metric(source: MongoSource, product_ids: Sequence[int], field: str, *, descending: bool) -> list[int]:
    """``product_ids`` ordered by a metric (ties by id ascending); ids without a metrics document come last."""
    if field not in SORTABLE_METRICS:
        raise ValueError(f"not a sortable metric: {field}")
    direction = DESCENDING if descending else ASCENDING
    docs = await _find(
        source,
        PRODUCT_METRICS,
        f"ids_by_{field}",
        product_ids,
        {"_id": {"$in": list(product_ids)}, field: {"$ne": None}},
        {"_id": 1, field: 1},
        sort=[(field, direction), ("_id", ASCENDING)],
    )
    ordered = [doc["_id"] for doc in docs]
    seen = set(ordered)
    return ordered + [key for key in product_ids if key not in seen]
