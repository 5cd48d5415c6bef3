"""The per-request set of loaders (``context.loaders``): one per (source, key), each built on first use.

With the entity cache on, products, users and recommendation lists are read through it (loaders/cached.py): the
loaders of a product's row, document and metrics (a user's row and profile) each fetch the whole entity, and
prime the others with their parts, so a product page costs one cache lookup and, on a miss, one fetch per store.
Every key a loader sends to a store is noted in ``touched`` under the entity it names: the tags of a cached
response (gateway/http/response_cache.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from functools import cached_property
from typing import Any

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
from gateway.errors import SourceError
from gateway.stores import Sources
from gateway.stores.mongo import reads as mongo_reads
from gateway.stores.mysql import reads as mysql_reads
from loaders.backends import BackendStatus, load_backend_status
from loaders.batcher import Batcher, Fetch
from loaders.cached import CacheThrough, Parts
from loaders.entities import EntityBatches
from loaders.graph import GraphBatches
from loaders.keys import OrderPageKey, RecommendationKey, TopKey
from loaders.search import ProductSearch


def _same(key: Any) -> int:
    return int(key)


def _first(key: Any) -> int:
    return int(key[0])


# Which entity each loader's keys name (a TopKey or OrderPageKey names it first): the response cache's tags.
_TAGGED: dict[str, tuple[str, Callable[[Any], int]]] = {
    "products": ("product", _same),
    "graph_products": ("product", _same),
    "product_rows": ("product", _same),
    "graph_product_rows": ("product", _same),
    "product_documents": ("product", _same),
    "metrics": ("product", _same),
    "inventory": ("product", _same),
    "categories_by_product": ("product", _same),
    "bought_together": ("product", _first),
    "users": ("user", _same),
    "graph_users": ("user", _same),
    "user_rows": ("user", _same),
    "profiles": ("user", _same),
    "order_counts": ("user", _same),
    "order_pages": ("orders_of", _first),
    "orders": ("order", _same),
    "order_items": ("order", _same),
    "recommendations": ("recommendations", _first),
    "similar_users": ("recommendations", _first),
}

# With the entity cache: the loader answering each part of a cached entity, by entity kind.
_PARTS = {"product": {"document": "product_documents", "metrics": "metrics"}, "user": {"profile": "profiles"}}


class Loaders:
    """Built fresh for every request (nothing is shared across requests); a loader exists once it is used."""

    def __init__(self, *, sources: Sources, settings: Settings) -> None:
        self.sources = sources
        self.settings = settings
        self._read: list[tuple[str, Callable[[Any], int], list[Any]]] = []  # (kind, key → id, keys) of each batch
        self._entities = EntityBatches(sources)
        self._graph = GraphBatches(sources)
        self._cache = CacheThrough(sources, settings) if settings.entity_cache else None

    @property
    def touched(self) -> set[tuple[str, int]]:
        """The entities this request read (kind, id): the tags of a cached response."""
        return {(kind, key_of(key)) for kind, key_of, keys in self._read for key in keys}

    def _batcher(self, name: str, fetch: Fetch[Any, Any], *, always_batch: bool = False) -> Batcher[Any, Any]:
        on_keys = None
        if (tag := _TAGGED.get(name)) is not None:
            kind, key_of = tag
            read = self._read

            def on_keys(keys: list[Any]) -> None:
                read.append((kind, key_of, keys))  # made into tags only if a response is cached

        return Batcher(
            fetch,
            name=name,
            max_batch_size=self.settings.loader_max_batch_size,
            batching=always_batch or self.settings.loader_batching,
            on_keys=on_keys,
        )

    def _part(self, kind: str, fetch: Callable[[list[int]], Awaitable[list[Parts]]], part: str) -> Fetch[int, Any]:
        """A batch function answering ``part`` of each entity through the cache, priming its sibling parts'
        loaders (a product's row loader primes its document and metrics loaders)."""
        cache = self._cache
        assert cache is not None
        siblings = {name: loader for name, loader in _PARTS[kind].items() if name != part}

        async def load(ids: list[int]) -> list[Any]:
            got = await cache.load(kind, ids, fetch)
            for name, loader in siblings.items():
                batcher: Batcher[int, Any] = getattr(self, loader)
                batcher.prime_many({k: p[name] for k, p in zip(ids, got, strict=True) if _usable(p[name])})
            return [parts[part] for parts in got]

        return load

    # ---------------------------------------------------------------- MySQL

    @cached_property
    def users(self) -> Batcher[int, UserRecord | None]:
        return self._user_rows("users")

    @cached_property
    def graph_users(self) -> Batcher[int, UserRecord | None]:
        """Users reached through the graph batch apart from those reached through MySQL relations: graph answers
        arrive at a time of their own, and sharing one loader would make the number of batches depend on which
        store answers first. Apart, a request's round trips are the same every time."""
        return self._user_rows("graph_users")

    def _user_rows(self, name: str) -> Batcher[int, UserRecord | None]:
        fetch = self._entities.users if self._cache is None else self._part("user", self._entities.user_parts, "row")
        return self._batcher(name, fetch)

    @cached_property
    def products(self) -> Batcher[int, ProductRecord | None]:
        return self._product_rows("products")

    @cached_property
    def graph_products(self) -> Batcher[int, ProductRecord | None]:
        """Products reached through the graph (recommendations, bought together): see ``graph_users``."""
        return self._product_rows("graph_products")

    def _product_rows(self, name: str) -> Batcher[int, ProductRecord | None]:
        e = self._entities
        fetch = e.products if self._cache is None else self._part("product", e.product_parts, "row")
        return self._batcher(name, fetch)

    @cached_property
    def product_rows(self) -> Batcher[int, ProductRecord | None]:
        """Products' MySQL rows alone, for a plan that reads no MongoDB part of them (engine/): a batch by primary
        key costs MySQL less than the merged entities cost to decode from the cache. The products loader itself
        when the entity cache is off."""
        if self._cache is None:
            return self.products
        return self._batcher("product_rows", _rows_after(self.products, self._entities.products))

    @cached_property
    def graph_product_rows(self) -> Batcher[int, ProductRecord | None]:
        """``product_rows`` for products reached through the graph (see ``graph_users``)."""
        if self._cache is None:
            return self.graph_products
        return self._batcher("graph_product_rows", _rows_after(self.graph_products, self._entities.products))

    @cached_property
    def user_rows(self) -> Batcher[int, UserRecord | None]:
        """Users' MySQL rows alone (see ``product_rows``)."""
        if self._cache is None:
            return self.users
        return self._batcher("user_rows", _rows_after(self.users, self._entities.users))

    @cached_property
    def inventory(self) -> Batcher[int, int | None]:
        return self._batcher("inventory", self._entities.inventory)

    @cached_property
    def categories(self) -> Batcher[int, CategoryRecord | None]:
        return self._batcher("categories", self._entities.categories)

    @cached_property
    def category_tree(self) -> Batcher[str, list[CategoryRecord]]:
        """Every category (one key, ``"all"``): what preferences are checked and matched against."""
        sources = self.sources

        async def tree(keys: list[str]) -> list[list[CategoryRecord]]:
            found = await mysql_reads.all_categories(sources.mysql)
            return [found for _ in keys]

        return self._batcher("category_tree", tree, always_batch=True)

    @cached_property
    def categories_by_product(self) -> Batcher[int, list[CategoryRecord]]:
        return self._batcher("categories_by_product", self._entities.categories_by_product)

    @cached_property
    def orders(self) -> Batcher[int, OrderRecord | None]:
        return self._batcher("orders", self._entities.orders)

    @cached_property
    def order_items(self) -> Batcher[int, list[OrderItemRecord]]:
        return self._batcher("order_items", self._entities.order_items)

    @cached_property
    def order_pages(self) -> Batcher[OrderPageKey, list[OrderRecord]]:
        return self._batcher("order_pages", self._entities.order_pages)

    @cached_property
    def order_counts(self) -> Batcher[int, int]:
        return self._batcher("order_counts", self._entities.order_counts)

    # ---------------------------------------------------------------- MongoDB

    @cached_property
    def profiles(self) -> Batcher[int, ProfileRecord | None]:
        e = self._entities
        fetch = e.profiles if self._cache is None else self._part("user", e.user_parts, "profile")
        return self._batcher("profiles", fetch)

    @cached_property
    def product_documents(self) -> Batcher[int, ProductDocumentRecord | None]:
        e = self._entities
        fetch = e.product_documents if self._cache is None else self._part("product", e.product_parts, "document")
        return self._batcher("product_documents", fetch)

    @cached_property
    def metrics(self) -> Batcher[int, MetricsRecord | None]:
        e = self._entities
        fetch = e.metrics if self._cache is None else self._part("product", e.product_parts, "metrics")
        return self._batcher("metrics", fetch)

    @cached_property
    def attribute_registry(self) -> Batcher[str, dict[int, dict[str, str]]]:
        sources = self.sources

        async def registry(keys: list[str]) -> list[dict[int, dict[str, str]]]:
            found = await mongo_reads.attribute_registry(sources.mongodb)
            return [found for _ in keys]

        return self._batcher("attribute_registry", registry, always_batch=True)

    # ---------------------------------------------------------------- Neo4j

    @cached_property
    def recommendations(self) -> Batcher[RecommendationKey, list[Scored] | None]:
        g, cache = self._graph, self._cache
        if cache is None:
            return self._batcher("recommendations", g.recommendations)

        async def through_cache(keys: list[RecommendationKey]) -> list[list[Scored] | BaseException | None]:
            """The default strategy's lists without a category through the cache; the other strategies and every
            list in a category straight from the graph (not cached: they are asked for rarely, and the cached list
            must mean one thing)."""
            cached = [key for key in keys if _cached(key)]
            user_ids = sorted({key.id for key in cached})
            lists = await cache.load("recommendations", user_ids, g.recommendation_parts) if user_ids else []
            got = dict(zip(user_ids, lists, strict=True))
            others = [key for key in keys if not _cached(key)]
            direct = dict(zip(others, await g.recommendations(others), strict=True)) if others else {}
            return [_top(got[key.id]["items"], key.limit) if _cached(key) else direct[key] for key in keys]

        return self._batcher("recommendations", through_cache)

    @cached_property
    def similar_users(self) -> Batcher[TopKey, list[Scored] | None]:
        return self._batcher("similar_users", self._graph.similar_users)

    @cached_property
    def bought_together(self) -> Batcher[TopKey, list[Scored] | None]:
        return self._batcher("bought_together", self._graph.bought_together)

    @cached_property
    def popular_in(self) -> Batcher[TopKey, list[Scored]]:
        """The best sellers in a category (``TopKey(category, limit)``), for users the graph does not know."""
        return self._batcher("popular_in", self._graph.popular_in)

    @cached_property
    def popular(self) -> Batcher[int, list[Scored]]:
        g, cache = self._graph, self._cache
        if cache is None:
            return self._batcher("popular", g.popular)

        async def through_cache(limits: list[int]) -> list[list[Scored]]:
            (parts,) = await cache.load("popular", [0], g.popular_parts)
            return [list(parts["items"] or ())[:limit] for limit in limits]

        return self._batcher("popular", through_cache)

    # ---------------------------------------------------------------- not keyed by a shared key

    @cached_property
    def product_search(self) -> ProductSearch:
        return ProductSearch(self.sources, self.products)

    @cached_property
    def backend_status(self) -> Batcher[SourceName, BackendStatus]:
        sources = self.sources

        async def status(names: list[SourceName]) -> Sequence[BackendStatus | BaseException]:
            return await load_backend_status(sources, names)

        return self._batcher("backend_status", status, always_batch=True)


def _rows_after(entities: Batcher[int, Any], fetch: Fetch[int, Any]) -> Fetch[int, Any]:
    """Rows from MySQL, except those the entity loader already holds for this request (a user looked up at the
    root through the cache is not read again from MySQL for its orders). With MySQL failing, through the entity
    loader after all: the cache keeps serving what it holds while MySQL is down."""

    async def rows(keys: list[int]) -> list[Any]:
        held = {key: entities.peek(key) for key in keys if entities.known(key)}
        missing = [key for key in keys if key not in held]
        if missing:
            try:
                found = await fetch(missing)
            except SourceError:
                found = await entities.get_many(missing)
            held.update(zip(missing, found, strict=True))
        return [held[key] for key in keys]

    return rows


def _cached(key: RecommendationKey) -> bool:
    return key.strategy == DEFAULT_STRATEGY and key.category is None


def _usable(part: Any) -> bool:
    return not isinstance(part, BaseException)


def _top(items: tuple[Scored, ...] | BaseException | None, limit: int) -> list[Scored] | BaseException | None:
    if items is None or isinstance(items, BaseException):
        return items
    return list(items[:limit])
