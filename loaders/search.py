"""Product search: one plan per ``products`` field, its answers primed into the product loader.

A filter on MongoDB attributes runs first (one find, ids only) and narrows the MySQL query. Sorting by a MySQL
column (id, price, title) pages in MySQL (page + count: two statements); sorting by a metric (rating,
popularity) reads the matching ids from MySQL and orders them with one find on ``product_metrics``, products
without metrics last. Pages are offset based; the cursor says so (see resolvers/cursors.py).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace

from gateway.domain.records import ProductRecord
from gateway.domain.selection import AttributeCondition, ProductSelection
from gateway.stores import Sources
from gateway.stores.mongo import reads as mongo_reads
from gateway.stores.mysql import reads as mysql_reads
from loaders.batcher import Batcher

METRIC_SORTS = {"rating": "rating_avg", "popularity": "popularity"}


@dataclass(frozen=True, slots=True)
class ProductPage:
    products: list[ProductRecord]
    total: int
    has_next: bool


class ProductSearch:
    def __init__(self, sources: Sources, products: Batcher[int, ProductRecord | None]) -> None:
        self.sources = sources
        self.products = products

    async def page(
        self,
        selection: ProductSelection,
        attributes: tuple[AttributeCondition, ...],
        *,
        sort: str,
        descending: bool,
        offset: int,
        limit: int,
    ) -> ProductPage:
        if attributes:
            ids = await mongo_reads.product_ids_with_attributes(self.sources.mongodb, attributes)
            if not ids:
                return ProductPage([], 0, False)
            selection = replace(selection, ids=tuple(ids))
        if sort in METRIC_SORTS:
            return await self._by_metric(selection, METRIC_SORTS[sort], descending, offset, limit)
        mysql = self.sources.mysql
        rows, total = await asyncio.gather(
            mysql_reads.product_page(mysql, selection, sort=sort, descending=descending, offset=offset, limit=limit),
            mysql_reads.product_count(mysql, selection),
        )
        self.products.prime_many({row.id: row for row in rows})
        return ProductPage(rows, total, offset + len(rows) < total)

    async def _by_metric(
        self, selection: ProductSelection, field: str, descending: bool, offset: int, limit: int
    ) -> ProductPage:
        ids = await mysql_reads.product_ids(self.sources.mysql, selection)
        if not ids:
            return ProductPage([], 0, False)
        ordered = await mongo_reads.ids_by_metric(self.sources.mongodb, ids, field, descending=descending)
        window = ordered[offset : offset + limit]
        products = [p for p in await self.products.load_many(window) if p is not None] if window else []
        return ProductPage(products, len(ordered), offset + len(window) < len(ordered))
