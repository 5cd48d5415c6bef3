"""The ``products`` search: a GraphQL filter becomes a typed ProductSelection and attribute conditions.

Attribute names are checked against the attribute registry in MongoDB (a name must be registered for some
category) and each value against the registered type, so client JSON never reaches a Mongo filter as is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gateway.domain.selection import AttributeCondition, AttributeScalar, ProductSelection
from gateway.errors import BadUserInput
from loaders.search import ProductPage
from resolvers import cursors, events
from resolvers.arguments import page_size, parse_id
from resolvers.info import Resolving

MAX_IN_VALUES = 100
MAX_TEXT = 200


@dataclass(frozen=True, slots=True)
class AttributeRequest:
    name: str
    eq: Any = None
    in_: Sequence[Any] | None = None


@dataclass(frozen=True, slots=True)
class SearchRequest:
    category_id: str | None = None
    price_min_cents: int | None = None
    price_max_cents: int | None = None
    year_min: int | None = None
    year_max: int | None = None
    attributes: tuple[AttributeRequest, ...] = ()
    sort: str = "id"  # "relevance" needs a text
    descending: bool = False
    text: str | None = None


@dataclass(frozen=True, slots=True)
class SearchResult:
    page: ProductPage
    offset: int
    query: str  # fingerprint of filter + sort, carried by every cursor


def _matches(value: Any, kind: str) -> bool:
    if isinstance(value, bool):
        return kind == "bool"
    if kind == "int":
        return isinstance(value, int)
    if kind == "float":
        return isinstance(value, int | float)
    return isinstance(value, str) and kind in ("str", "list[str]")  # a list attribute matches one member


def _condition(request: AttributeRequest, registry: dict[int, dict[str, str]]) -> AttributeCondition:
    kinds = {types[request.name] for types in registry.values() if request.name in types}
    if not kinds:
        raise BadUserInput(f"unknown attribute {request.name[:64]!r}: not registered for any category")
    if (request.eq is None) == (request.in_ is None):
        raise BadUserInput(f"attribute {request.name!r}: give exactly one of eq or in")
    values = [request.eq] if request.in_ is None else list(request.in_)
    if not 1 <= len(values) <= MAX_IN_VALUES:
        raise BadUserInput(f"attribute {request.name!r}: in takes 1 to {MAX_IN_VALUES} values")
    for value in values:
        if not any(_matches(value, kind) for kind in kinds):
            expected = " or ".join(sorted(kinds))
            raise BadUserInput(f"attribute {request.name!r} is {expected}; {type(value).__name__} given")
    scalars: tuple[AttributeScalar, ...] = tuple(values)
    return AttributeCondition(request.name, scalars)


def _text(text: str | None, sort: str) -> str | None:
    if text is None:
        if sort == "relevance":
            raise BadUserInput("sort by RELEVANCE needs filter.text")
        return None
    words = " ".join(text.split())
    if not words:
        raise BadUserInput("filter.text must hold at least one word")
    if len(words) > MAX_TEXT:
        raise BadUserInput(f"filter.text is at most {MAX_TEXT} characters")
    return words


def _range(low: int | None, high: int | None, what: str) -> None:
    if low is not None and high is not None and low > high:
        raise BadUserInput(f"{what}: the minimum is above the maximum")


async def search(info: Resolving, request: SearchRequest, first: int, after: str | None) -> SearchResult:
    limit = page_size(first, info.context.settings.max_page_size)
    query = cursors.fingerprint(request)
    offset = cursors.parse_offset_cursor(after, query) + 1 if after is not None else 0
    _range(request.price_min_cents, request.price_max_cents, "price")
    _range(request.year_min, request.year_max, "year")
    text = _text(request.text, request.sort)
    selection = ProductSelection(
        category_id=parse_id(request.category_id, "categoryId") if request.category_id is not None else None,
        price_min_cents=request.price_min_cents,
        price_max_cents=request.price_max_cents,
        year_min=request.year_min,
        year_max=request.year_max,
        text=text,
    )
    conditions: tuple[AttributeCondition, ...] = ()
    if request.attributes:
        registry = await info.context.loaders.attribute_registry.load("all")
        conditions = tuple(_condition(attribute, registry) for attribute in request.attributes)
    page = await info.context.loaders.product_search.page(
        selection, conditions, sort=request.sort, descending=request.descending, offset=offset, limit=limit
    )
    if text is not None:
        info.context.uncacheable = True  # a cached answer would not record the search
        if offset == 0:  # a search, not the next page of one
            events.record(info, "search", terms=text, results=page.total)
    return SearchResult(page, offset, query)
