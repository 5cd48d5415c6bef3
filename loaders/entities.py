"""Loaders of entities by their shared key: one ``WHERE id IN (...)`` or ``find({_id: {$in: ...}})`` per batch."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from gateway.domain.records import (
    CategoryRecord,
    MetricsRecord,
    OrderItemRecord,
    OrderRecord,
    ProductDocumentRecord,
    ProductRecord,
    ProfileRecord,
    UserRecord,
)
from gateway.stores import Sources
from gateway.stores.mongo import reads as mongo_reads
from gateway.stores.mysql import reads as mysql_reads
from loaders.batching import grouped
from loaders.cached import Parts
from loaders.keys import OrderPageKey


class EntityBatches:
    """The batch functions, bound to the request's sources (the loaders registry wraps each in a Batcher)."""

    def __init__(self, sources: Sources) -> None:
        self.sources = sources

    async def product_parts(self, ids: list[int]) -> list[Parts]:
        """A product as the cache holds it: the MySQL row, the MongoDB document and metrics, fetched in parallel."""
        rows, documents, metrics = await asyncio.gather(
            self.products(ids), self.product_documents(ids), self.metrics(ids), return_exceptions=True
        )
        return [
            {"row": _at(rows, i), "document": _at(documents, i), "metrics": _at(metrics, i)} for i in range(len(ids))
        ]

    async def user_parts(self, ids: list[int]) -> list[Parts]:
        """A user as the cache holds it: the MySQL row and the MongoDB profile, fetched in parallel."""
        rows, profiles = await asyncio.gather(self.users(ids), self.profiles(ids), return_exceptions=True)
        return [{"row": _at(rows, i), "profile": _at(profiles, i)} for i in range(len(ids))]

    async def users(self, ids: list[int]) -> Sequence[UserRecord | None]:
        return await mysql_reads.users_by_id(self.sources.mysql, ids)

    async def profiles(self, ids: list[int]) -> Sequence[ProfileRecord | None]:
        return await mongo_reads.profiles(self.sources.mongodb, ids)

    async def products(self, ids: list[int]) -> Sequence[ProductRecord | None]:
        return await mysql_reads.products_by_id(self.sources.mysql, ids)

    async def product_documents(self, ids: list[int]) -> Sequence[ProductDocumentRecord | None]:
        return await mongo_reads.product_documents(self.sources.mongodb, ids)

    async def metrics(self, ids: list[int]) -> Sequence[MetricsRecord | None]:
        return await mongo_reads.metrics(self.sources.mongodb, ids)

    async def inventory(self, ids: list[int]) -> Sequence[int | None]:
        return await mysql_reads.inventory_by_product(self.sources.mysql, ids)

    async def categories(self, ids: list[int]) -> Sequence[CategoryRecord | None]:
        return await mysql_reads.categories_by_id(self.sources.mysql, ids)

    async def categories_by_product(self, ids: list[int]) -> Sequence[list[CategoryRecord]]:
        return await mysql_reads.categories_by_product(self.sources.mysql, ids)

    async def orders(self, ids: list[int]) -> Sequence[OrderRecord | None]:
        return await mysql_reads.orders_by_id(self.sources.mysql, ids)

    async def order_items(self, ids: list[int]) -> Sequence[list[OrderItemRecord]]:
        return await mysql_reads.items_by_order(self.sources.mysql, ids)

    async def order_counts(self, ids: list[int]) -> Sequence[int]:
        return await mysql_reads.order_counts_by_user(self.sources.mysql, ids)

    async def order_pages(self, keys: list[OrderPageKey]) -> Sequence[list[OrderRecord]]:
        """Keys with the same cursor share one statement, which fetches the largest page asked for."""

        async def fetch(before: object, group: list[OrderPageKey]) -> list[list[OrderRecord]]:
            limit = max(key.limit for key in group)
            pages = await mysql_reads.order_pages_by_user(
                self.sources.mysql, [key.user_id for key in group], limit=limit, before=group[0].before
            )
            return [page[: key.limit] for page, key in zip(pages, group, strict=True)]

        return await grouped(keys, lambda key: key.before, fetch)


def _at(answer: Sequence[Any] | BaseException, index: int) -> Any:
    """One key's part of a batch answer; a failed batch is that failure for every key."""
    return answer if isinstance(answer, BaseException) else answer[index]
