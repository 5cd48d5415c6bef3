"""Where MongoDB holds given (user, product) pairs: behaviour events, the one collection keyed by both (profiles
are keyed by user, attributes and metrics by product). For checks that data was held out of the stores
(bench/quality.py)."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.stores.guard import guarded
from gateway.stores.mongo.client import DRIVER_ERRORS, MongoSource
from gateway.stores.mongo.schema import EVENTS

Pair = tuple[int, int]  # (user id, product id)


async def pairs_present(source: MongoSource, pairs: Sequence[Pair]) -> dict[str, int]:
    """How many events join one of ``pairs``: one find of the events of these users on these products (MongoDB
    narrows it by the user+time index; the local server, which keeps only _id and unique indexes, scans), the
    pairs picked out here."""
    wanted = {(int(user), int(product)) for user, product in pairs}
    if not wanted:
        return {EVENTS: 0}
    query = {
        "user_id": {"$in": sorted({user for user, _ in wanted})},
        "product_id": {"$in": sorted({product for _, product in wanted})},
    }

    async def run() -> int:
        cursor = source.db[EVENTS].find(query, {"_id": 0, "user_id": 1, "product_id": 1}, batch_size=100_000)
        docs = await cursor.to_list()
        return sum(1 for doc in docs if (doc.get("user_id"), doc.get("product_id")) in wanted)

    found = await guarded(source, source.timeout, run(), DRIVER_ERRORS, operation="pairs_present", keys=pairs)
    return {EVENTS: found}
