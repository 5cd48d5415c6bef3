"""Reads of the behaviour events (``events``) for the read path: what users viewed last."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.stores.guard import guarded
from gateway.stores.mongo.client import DRIVER_ERRORS, Document, MongoSource
from gateway.stores.mongo.schema import EVENTS


async def recently_viewed(source: MongoSource, user_ids: Sequence[int], limit: int) -> list[list[int]]:
    """Per user, the products they viewed, the latest view first, each once, at most ``limit``: ONE aggregate for
    every user (a view event per (user, product) grouped to its latest)."""
    pipeline: list[Document] = [
        {"$match": {"user_id": {"$in": list(user_ids)}, "type": "view"}},
        {"$group": {"_id": {"u": "$user_id", "p": "$product_id"}, "at": {"$max": "$ts"}}},
        {"$sort": {"at": -1, "_id.p": 1}},
    ]

    async def run() -> list[Document]:
        return await (await source.db[EVENTS].aggregate(pipeline)).to_list()

    docs = await guarded(source, source.timeout, run(), DRIVER_ERRORS, operation="recently_viewed", keys=user_ids)
    found: dict[int, list[int]] = {user_id: [] for user_id in user_ids}
    for doc in docs:
        viewed = found.get(doc["_id"]["u"])
        if viewed is not None and len(viewed) < limit:
            viewed.append(int(doc["_id"]["p"]))
    return [found[user_id] for user_id in user_ids]
