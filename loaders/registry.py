"""The per-request set of DataLoaders (``info.context.loaders``): one per (source, key), built fresh per request."""

from __future__ import annotations

from collections.abc import Sequence

from strawberry.dataloader import DataLoader

from gateway.config import Settings, SourceName
from gateway.records import (
    CategoryRecord,
    MetricsRecord,
    OrderItemRecord,
    OrderRecord,
    ProductDocumentRecord,
    ProductRecord,
    ProfileRecord,
    Scored,
    UserRecord,
)
from gateway.sources import Sources, mongo_reads
from loaders.backends import BackendStatus, load_backend_status
from loaders.batching import build
from loaders.entities import EntityBatches
from loaders.graph import GraphBatches
from loaders.keys import OrderPageKey, TopKey
from loaders.search import ProductSearch


class Loaders:
    def __init__(self, *, sources: Sources, settings: Settings) -> None:
        e = EntityBatches(sources)
        g = GraphBatches(sources)
        # MySQL
        self.users: DataLoader[int, UserRecord | None] = build(e.users, settings)
        self.products: DataLoader[int, ProductRecord | None] = build(e.products, settings)
        self.inventory: DataLoader[int, int | None] = build(e.inventory, settings)
        self.categories: DataLoader[int, CategoryRecord | None] = build(e.categories, settings)
        self.categories_by_product: DataLoader[int, list[CategoryRecord]] = build(e.categories_by_product, settings)
        self.orders: DataLoader[int, OrderRecord | None] = build(e.orders, settings)
        self.order_items: DataLoader[int, list[OrderItemRecord]] = build(e.order_items, settings)
        self.order_pages: DataLoader[OrderPageKey, list[OrderRecord]] = build(e.order_pages, settings)
        self.order_counts: DataLoader[int, int] = build(e.order_counts, settings)
        # MongoDB
        self.profiles: DataLoader[int, ProfileRecord | None] = build(e.profiles, settings)
        self.product_documents: DataLoader[int, ProductDocumentRecord | None] = build(e.product_documents, settings)
        self.metrics: DataLoader[int, MetricsRecord | None] = build(e.metrics, settings)
        self.attribute_registry: DataLoader[str, dict[int, dict[str, str]]] = DataLoader(
            load_fn=lambda keys: _registry(sources, keys)
        )
        # Neo4j
        self.recommendations: DataLoader[TopKey, list[Scored] | None] = build(g.recommendations, settings)
        self.similar_users: DataLoader[TopKey, list[Scored] | None] = build(g.similar_users, settings)
        self.bought_together: DataLoader[TopKey, list[Scored] | None] = build(g.bought_together, settings)
        self.popular: DataLoader[int, list[Scored]] = build(g.popular, settings)
        # Products and users reached through the graph batch apart from those reached through MySQL relations:
        # graph answers arrive at a time of their own, and sharing one loader would make the number of
        # batches depend on which store answers first. Apart, a request's round trips are the same every time.
        self.graph_products: DataLoader[int, ProductRecord | None] = build(e.products, settings)
        self.graph_users: DataLoader[int, UserRecord | None] = build(e.users, settings)
        # Not keyed by a shared key: searches and server status.
        self.product_search = ProductSearch(sources, self.products)
        self.backend_status: DataLoader[SourceName, BackendStatus] = DataLoader(
            load_fn=lambda names: load_backend_status(sources, names)
        )


async def _registry(sources: Sources, keys: Sequence[str]) -> list[dict[int, dict[str, str]]]:
    registry = await mongo_reads.attribute_registry(sources.mongodb)
    return [registry for _ in keys]
