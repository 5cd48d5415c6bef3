"""Products (ProductRecord) with their MongoDB document and metrics and their graph, categories, rating
summaries (a MetricsRecord), recommendations (Scored) and the products connection (a SearchResult; an edge is
(offset, query fingerprint, record))."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.fields.base import Args, Batch, Call, Each, Impl, Leaf, loaded
from engine.fields.parts import PRODUCT_PARTS
from gateway.domain.records import CategoryRecord, ProductRecord
from loaders.batcher import Batcher
from loaders.registry import Loaders
from resolvers import cursors, graph
from resolvers.products import SearchResult
from schema.types.pages import PageInfo


def _by_product(pick: Callable[[Loaders], Batcher[int, Any]], part: Callable[[Any], Any] | None = None) -> Batch:
    """A field read from a loader keyed by the product id: the loader's value, or ``part`` of it."""
    return Batch(loaded(pick, _id, part))


def _id(record: Any) -> int:
    return int(record.id)


async def _bought_together(call: Call, products: list[ProductRecord], args: Args) -> list[Any]:
    return await graph.bought_together_many(call, [product.id for product in products], args["limit"])


async def _bought_together_rows(call: Call, products: list[ProductRecord], args: Args) -> list[Any]:
    ids = [product.id for product in products]
    return await graph.bought_together_many(call, ids, args["limit"], rows_only=True)


async def _parent(call: Call, categories: list[CategoryRecord], args: Args) -> list[Any]:
    keys = [c.parent_id for c in categories if c.parent_id is not None]
    found = iter(await call.context.loaders.categories.get_many(keys) if keys else ())
    return [None if c.parent_id is None else next(found) for c in categories]


def _edges(call: Call, result: SearchResult, args: Args) -> list[tuple[int, str, ProductRecord]]:
    return [(result.offset + i, result.query, product) for i, product in enumerate(result.page.products)]


def _nodes(call: Call, result: SearchResult, args: Args) -> list[ProductRecord]:
    return result.page.products


def _page_info(call: Call, result: SearchResult, args: Args) -> PageInfo:
    count = len(result.page.products)
    return PageInfo(
        has_next_page=result.page.has_next,
        has_previous_page=result.offset > 0,
        start_cursor=cursors.offset_cursor(result.offset, result.query) if count else None,
        end_cursor=cursors.offset_cursor(result.offset + count - 1, result.query) if count else None,
    )


def _node(call: Call, edge: tuple[int, str, ProductRecord], args: Args) -> ProductRecord:
    return edge[2]


FIELDS: dict[str, Impl] = {
    "Product.id": Leaf("s.id"),
    "Product.sku": Leaf("s.sku"),
    "Product.title": Leaf("s.title"),
    "Product.price": Leaf("s.price_cents"),
    "Product.currency": Leaf("s.currency"),
    "Product.releaseYear": Leaf("s.release_year"),
    "Product.createdAt": Leaf("s.created_at"),
    "Product.updatedAt": Leaf("s.updated_at"),
    "Product.categories": _by_product(lambda loaders: loaders.categories_by_product),
    "Product.inventory": _by_product(lambda loaders: loaders.inventory),
    "Product.attributes": _by_product(lambda loaders: loaders.product_documents, lambda d: d.attributes),
    "Product.description": _by_product(lambda loaders: loaders.product_documents, lambda d: d.description),
    "Product.tags": _by_product(lambda loaders: loaders.product_documents, lambda d: list(d.tags)),
    "Product.rating": _by_product(lambda loaders: loaders.metrics),
    "Product.popularity": _by_product(lambda loaders: loaders.metrics, lambda m: m.popularity),
    "Product.boughtTogether": Batch(_bought_together, _bought_together_rows, PRODUCT_PARTS),
    "Category.id": Leaf("s.id"),
    "Category.name": Leaf("s.name"),
    "Category.parent": Batch(_parent),
    "RatingSummary.average": Leaf("s.rating_avg"),
    "RatingSummary.count": Leaf("s.rating_count"),
    "RatingSummary.stddev": Leaf("s.rating_std"),
    "Recommendation.score": Leaf("s.score"),
    "Recommendation.reason": Leaf("s.reason"),
    "Recommendation.product": Batch(
        loaded(lambda loaders: loaders.graph_products, _id),
        loaded(lambda loaders: loaders.graph_product_rows, _id),
        PRODUCT_PARTS,
    ),
    "ProductConnection.edges": Each(_edges),
    "ProductConnection.nodes": Each(_nodes),
    "ProductConnection.pageInfo": Each(_page_info),
    "ProductConnection.totalCount": Leaf("s.page.total"),
    "ProductEdge.cursor": Leaf("offset_cursor(s[0], s[1])"),
    "ProductEdge.node": Each(_node),
}
