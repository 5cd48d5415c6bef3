"""The per-request set of DataLoaders (``info.context.loaders``): one per (source, key), built fresh per request.

With the entity cache on, products, users and recommendation lists are read through it (loaders/cached.py): the
loaders of a product's row, document and metrics (a user's row and profile) each fetch the whole entity, and
prime the others with their parts, so a product page costs one cache lookup and, on a miss, one fetch per store.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from strawberry.dataloader import DataLoader

from gateway.config import Settings, SourceName
from gateway.domain.records import (
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
from gateway.domain.strategies import DEFAULT_STRATEGY
from gateway.stores import Sources
from gateway.stores.mongo import reads as mongo_reads
from loaders.backends import BackendStatus, load_backend_status
from loaders.batching import build
from loaders.cached import CacheThrough, Fetch
from loaders.entities import EntityBatches
from loaders.graph import GraphBatches
from loaders.keys import OrderPageKey, RecommendationKey, TopKey
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
        self.recommendations: DataLoader[RecommendationKey, list[Scored] | None] = build(g.recommendations, settings)
        self.similar_users: DataLoader[TopKey, list[Scored] | None] = build(g.similar_users, settings)
        self.bought_together: DataLoader[TopKey, list[Scored] | None] = build(g.bought_together, settings)
        self.popular: DataLoader[int, list[Scored]] = build(g.popular, settings)
        # Products and users reached through the graph batch apart from those reached through MySQL relations:
        # graph answers arrive at a time of their own, and sharing one loader would make the number of
        # batches depend on which store answers first. Apart, a request's round trips are the same every time.
        self.graph_products: DataLoader[int, ProductRecord | None] = build(e.products, settings, name="graph_products")
        self.graph_users: DataLoader[int, UserRecord | None] = build(e.users, settings, name="graph_users")
        # Not keyed by a shared key: searches and server status.
        if settings.entity_cache:
            self._through_cache(CacheThrough(sources, settings), e, g, settings)
        self.touched: set[tuple[str, int]] = set()  # entities this request read: the tags of a cached response
        for kind, names in _TAGGED.items():
            for name, key_of in names:
                _record(getattr(self, name), kind, key_of, self.touched)
        self.product_search = ProductSearch(sources, self.products)
        self.backend_status: DataLoader[SourceName, BackendStatus] = DataLoader(
            load_fn=lambda names: load_backend_status(sources, names)
        )

    def _through_cache(self, cache: CacheThrough, e: EntityBatches, g: GraphBatches, settings: Settings) -> None:
        product = ("product", e.product_parts, {"document": "product_documents", "metrics": "metrics"})
        user = ("user", e.user_parts, {"profile": "profiles"})
        # Named after the loader they replace (the batch functions are all called "load").
        self.products = build(self._parts(cache, *product, part="row"), settings, name="products")
        self.graph_products = build(self._parts(cache, *product, part="row"), settings, name="graph_products")
        self.product_documents = build(
            self._parts(cache, *product, part="document"), settings, name="product_documents"
        )
        self.metrics = build(self._parts(cache, *product, part="metrics"), settings, name="metrics")
        self.users = build(self._parts(cache, *user, part="row"), settings, name="users")
        self.graph_users = build(self._parts(cache, *user, part="row"), settings, name="graph_users")
        self.profiles = build(self._parts(cache, *user, part="profile"), settings, name="profiles")

        async def recommendations(keys: list[RecommendationKey]) -> list[list[Scored] | BaseException | None]:
            """The default strategy's lists through the cache; the other strategies straight from the graph (not
            cached: they are asked for rarely, and the cached list must mean one thing)."""
            cached = [key for key in keys if key.strategy == DEFAULT_STRATEGY]
            user_ids = sorted({key.id for key in cached})
            lists = await cache.load("recommendations", user_ids, g.recommendation_parts) if user_ids else []
            got = dict(zip(user_ids, lists, strict=True))
            others = [key for key in keys if key.strategy != DEFAULT_STRATEGY]
            direct = dict(zip(others, await g.recommendations(others), strict=True)) if others else {}
            return [
                _top(got[key.id]["items"], key.limit) if key.strategy == DEFAULT_STRATEGY else direct[key]
                for key in keys
            ]

        self.recommendations = build(recommendations, settings)

        async def popular(limits: list[int]) -> list[list[Scored]]:
            (parts,) = await cache.load("popular", [0], g.popular_parts)
            return [list(parts["items"] or ())[:limit] for limit in limits]

        self.popular = build(popular, settings)

    def _parts(
        self, cache: CacheThrough, kind: str, fetch: Fetch, siblings: dict[str, str], *, part: str
    ) -> Callable[[list[int]], Awaitable[list[Any]]]:
        """A batch function answering ``part`` of each entity, priming the loaders of its other parts."""

        async def load(ids: list[int]) -> list[Any]:
            got = await cache.load(kind, ids, fetch)
            for name, attribute in siblings.items():
                if name == part:
                    continue
                loader: DataLoader[int, Any] = getattr(self, attribute)
                loader.prime_many({k: p[name] for k, p in zip(ids, got, strict=True) if _usable(p[name])})
            return [parts[part] for parts in got]

        return load


def _same(key: Any) -> int:
    return int(key)


def _first(key: Any) -> int:
    return int(key[0])


# Which entity each loader's keys name (a TopKey or OrderPageKey names it first).
_TAGGED: dict[str, tuple[tuple[str, Callable[[Any], int]], ...]] = {
    "product": (
        ("products", _same),
        ("graph_products", _same),
        ("product_documents", _same),
        ("metrics", _same),
        ("inventory", _same),
        ("categories_by_product", _same),
        ("bought_together", _first),
    ),
    "user": (("users", _same), ("graph_users", _same), ("profiles", _same), ("order_counts", _same)),
    "orders_of": (("order_pages", _first),),
    "order": (("orders", _same), ("order_items", _same)),
    "recommendations": (("recommendations", _first), ("similar_users", _first)),
}


def _record(
    loader: DataLoader[Any, Any], kind: str, key_of: Callable[[Any], int], touched: set[tuple[str, int]]
) -> None:
    load = loader.load_fn

    async def recorded(keys: list[Any]) -> Any:
        touched.update((kind, key_of(key)) for key in keys)
        return await load(keys)

    loader.load_fn = recorded


def _usable(part: Any) -> bool:
    return not isinstance(part, BaseException)


def _top(items: tuple[Scored, ...] | BaseException | None, limit: int) -> list[Scored] | BaseException | None:
    if items is None or isinstance(items, BaseException):
        return items
    return list(items[:limit])


async def _registry(sources: Sources, keys: Sequence[str]) -> list[dict[int, dict[str, str]]]:
    registry = await mongo_reads.attribute_registry(sources.mongodb)
    return [registry for _ in keys]
