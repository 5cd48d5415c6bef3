"""The fields of Query: one parent (the root), each answered through the same resolver functions as the
strawberry executor's (resolvers/), and the four stores' status (``Query.backends``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.fields.base import Args, Batch, Call, Each, Impl, Leaf, root
from engine.fields.users import wanted
from gateway.config import SourceName
from resolvers import carts, graph, lookup, products


async def _user(call: Call, args: Args) -> Any:
    return await lookup.user(call, args["id"])


async def _viewer(call: Call, args: Args) -> Any:
    return await lookup.viewer(call)


async def _product(call: Call, args: Args) -> Any:
    return await lookup.product(call, args["id"])


async def _products(call: Call, args: Args) -> Any:
    request = _search_request(args["filter"], args["sort"])
    return await products.search(call, request, args["first"], args["after"])


async def _order(call: Call, args: Args) -> Any:
    return await lookup.owned_order(call, args["id"])


async def _recommendations(call: Call, args: Args) -> Any:
    return await graph.recommendations_for(call, args["userId"], wanted(args))


async def _popular(call: Call, args: Args) -> Any:
    return await graph.popular_products(call, args["limit"])


async def _cart(call: Call, args: Args) -> Any:
    return await carts.viewer_cart(call)


def _backends(call: Call, parent: Any, args: Args) -> object:
    return _BACKENDS


_BACKENDS = object()  # Query.backends has no data of its own: each of its fields reads one store


def _status(source: SourceName) -> Batch:
    async def field(call: Call, parents: list[Any], args: Args) -> list[Any]:
        (status,) = await call.context.loaders.backend_status.get_many([source])
        return [status] * len(parents)

    return Batch(field)


def _search_request(filter: Mapping[str, Any] | None, sort: Mapping[str, Any] | None) -> products.SearchRequest:
    """The products arguments as graphql-core coerced them (GraphQL names, enum members) as a search request."""
    f = filter or {}
    s = sort or {}
    attributes = tuple(
        products.AttributeRequest(a["name"], a.get("eq"), a.get("in")) for a in f.get("attributes") or ()
    )
    field, direction = s.get("field"), s.get("direction")
    return products.SearchRequest(
        category_id=f.get("categoryId"),
        price_min_cents=f.get("priceMin"),
        price_max_cents=f.get("priceMax"),
        year_min=f.get("yearMin"),
        year_max=f.get("yearMax"),
        attributes=attributes,
        sort=("relevance" if f.get("text") is not None else "id") if field is None else field.value,
        descending=direction is not None and direction.value == "desc",
        text=f.get("text"),
    )


FIELDS: dict[str, Impl] = {
    "Query.user": root(_user),
    "Query.viewer": root(_viewer),
    "Query.product": root(_product),
    "Query.products": root(_products),
    "Query.order": root(_order),
    "Query.recommendations": root(_recommendations),
    "Query.popularProducts": root(_popular),
    "Query.cart": root(_cart),
    "Query.backends": Each(_backends),
    "Backends.mysql": _status("mysql"),
    "Backends.mongodb": _status("mongodb"),
    "Backends.neo4j": _status("neo4j"),
    "Backends.redis": _status("redis"),
    "Backend.server": Leaf("s.server"),
    "Backend.version": Leaf("s.version"),
    "Backend.latencyMs": Leaf("s.latency_ms"),
}
