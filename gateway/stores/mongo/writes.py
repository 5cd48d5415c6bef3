"""Mongo-only writes (no outbox: MongoDB owns these documents). The caller validates the document first."""

from __future__ import annotations

from gateway.stores.guard import guarded
from gateway.stores.mongo.client import DRIVER_ERRORS, Document, MongoSource
from gateway.stores.mongo.schema import PRODUCT_ATTRIBUTES


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
