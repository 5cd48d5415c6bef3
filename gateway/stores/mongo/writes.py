"""Mongo-only writes (no outbox: MongoDB owns these documents: product attributes, profile preferences). The caller
validates the document first."""

from __future__ import annotations

from gateway.stores.guard import guarded
from gateway.stores.mongo.client import DRIVER_ERRORS, Document, MongoSource
from gateway.stores.mongo.schema import PRODUCT_ATTRIBUTES, USER_PROFILES


async def replace_product_document(source: MongoSource, timeout: float, document: Document) -> None:
    await guarded(
        source,
        timeout,
        source.primary[PRODUCT_ATTRIBUTES].replace_one({"_id": document["_id"]}, document, upsert=True),
        DRIVER_ERRORS,
        operation="product_document_replace",
        keys=[document["_id"]],
    )


async def delete_product_document(source: MongoSource, timeout: float, product_id: int) -> None:
    await guarded(
        source,
        timeout,
        source.db[PRODUCT_ATTRIBUTES].delete_one({"_id": product_id}),
        DRIVER_ERRORS,
        operation="product_document_delete",
        keys=[product_id],
    )


async def set_preferences(source: MongoSource, timeout: float, user_id: int, values: Document) -> None:
    """Set these keys of a user's ``preferences`` (``{"genres": [...]}``…), the others kept, in ONE update of
    one document: MongoDB applies it whole or not at all. The profile is created if the relay has not made it
    yet (its ``user.registered`` then finds it and leaves it)."""
    await guarded(
        source,
        timeout,
        source.primary[USER_PROFILES].update_one(
            {"_id": user_id}, {"$set": {f"preferences.{key}": value for key, value in values.items()}}, upsert=True
        ),
        DRIVER_ERRORS,
        operation="profile_preferences_update",
        keys=[user_id],
    )
