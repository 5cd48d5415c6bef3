"""What a mutation drops from the caches before it returns, so that its client reads its own write at once
(read-your-writes, docs/ARCHITECTURE.md): the entries of the MySQL-owned and Mongo-only data it changed, in Redis
and in the request's own DataLoaders."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import suppress

from loaders.cached import invalidate
from resolvers.info import Resolving

_LOADERS = {
    "product": ("products", "graph_products", "product_documents", "metrics"),
    "user": ("users", "graph_users", "profiles"),
    "recommendations": (),
    "orders_of": (),  # pages are keyed by (user, size, cursor): a response-cache tag only
    "order": ("orders", "order_items"),
}


async def forget(
    info: Resolving,
    *,
    products: Iterable[int] = (),
    users: Iterable[int] = (),
    orders: Iterable[int] = (),
    profiles: Iterable[int] = (),
) -> None:
    """Drop these products; these users with their recommendation lists (a new user's may be cached empty) and
    the cached responses listing their orders; and the cached responses holding these orders. ``profiles``: users
    whose profile alone changed (the cached user, and the responses that read it: weighed recommendations too)."""
    entities = [("product", key) for key in products]
    entities += [(kind, key) for key in users for kind in ("user", "recommendations", "orders_of")]
    entities += [("user", key) for key in profiles]
    entities += [("order", key) for key in orders]
    await invalidate(info.context.sources, info.context.settings, entities)
    loaders = info.context.loaders
    for kind, key in entities:
        for name in _LOADERS[kind]:
            with suppress(KeyError):
                getattr(loaders, name).clear(key)
