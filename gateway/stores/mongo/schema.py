"""MongoDB collections and their indexes. No $jsonSchema validators (the local server has none):
documents are validated in the gateway (gateway/stores/mongo/documents.py) before every write."""

from __future__ import annotations

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from gateway.stores.mongo.client import Document

PRODUCT_ATTRIBUTES = "product_attributes"  # {_id: product_id, attributes{...}, description, images, tags}
PRODUCT_METRICS = "product_metrics"  # {_id: product_id, rating_avg, rating_count, rating_std, popularity, ...}
USER_PROFILES = "user_profiles"  # {_id: user_id, preferences{genres[]...}, stats{...}}
EVENTS = "events"  # {user_id, session_id, type, product_id, ts}
ATTRIBUTE_REGISTRY = "attribute_registry"  # {_id: category_id, attributes: {name: type}}
FORGOTTEN_USERS = "forgotten_users"  # {_id: user_id, at}: written by deleteUser's relay step before it deletes events

COLLECTIONS = (PRODUCT_ATTRIBUTES, PRODUCT_METRICS, USER_PROFILES, EVENTS, ATTRIBUTE_REGISTRY, FORGOTTEN_USERS)

INDEXES: dict[str, list[IndexModel]] = {
    EVENTS: [
        IndexModel([("user_id", ASCENDING), ("ts", DESCENDING)], name="user_id_ts"),
        IndexModel([("product_id", ASCENDING), ("type", ASCENDING)], name="product_id_type"),
        IndexModel([("ts", ASCENDING)], name="ts"),  # the reports read a range of days
    ],
    PRODUCT_METRICS: [IndexModel([("popularity", DESCENDING)], name="popularity")],
}


async def ensure_collections(db: AsyncDatabase[Document]) -> list[str]:
    """Create missing collections and indexes (idempotent); returns what was created."""
    created: list[str] = []
    existing = set(await db.list_collection_names())
    for name in COLLECTIONS:
        if name not in existing:
            await db.create_collection(name)
            created.append(name)
        indexes = INDEXES.get(name)
        if indexes:
            have = {index["name"] async for index in await db[name].list_indexes()}
            missing = [index for index in indexes if index.document["name"] not in have]
            if missing:
                await db[name].create_indexes(missing)
                created.extend(f"{name}.{index.document['name']}" for index in missing)
    return created
