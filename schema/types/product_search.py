"""``Query.products``: filter (MySQL columns and registered MongoDB attributes), sort, and a Relay connection."""

from __future__ import annotations

from enum import Enum

import strawberry
from strawberry.scalars import JSON

from resolvers import cursors
from resolvers.info import Info
from resolvers.products import AttributeRequest, SearchRequest, SearchResult, search
from schema.scalars import Money
from schema.types.pages import PageInfo
from schema.types.products import Product


@strawberry.input(
    description="Match a registered attribute: exactly one of eq or in. A list attribute matches "
    "when it contains the value."
)
class AttributeFilter:
    name: str
    eq: JSON | None = None
    in_: list[JSON] | None = strawberry.field(default=None, name="in")


@strawberry.input
class ProductFilter:
    category_id: strawberry.ID | None = strawberry.field(default=None, description="This category or any below it.")
    price_min: Money | None = None
    price_max: Money | None = None
    year_min: int | None = None
    year_max: int | None = None
    attributes: list[AttributeFilter] | None = None
    text: str | None = strawberry.field(
        default=None,
        description="Words to find in the title (MySQL FULLTEXT, natural language mode); without a sort, the "
        "products come best match first. Recorded as a search event.",
    )


@strawberry.enum
class ProductSortField(Enum):
    ID = "id"
    PRICE = "price"
    TITLE = "title"
    RATING = "rating"
    POPULARITY = "popularity"
    RELEVANCE = strawberry.enum_value("relevance", description="Best match of filter.text first (DESC: worst).")


@strawberry.enum
class SortDirection(Enum):
    ASC = "asc"
    DESC = "desc"


@strawberry.input(description="Ties are broken by id, ascending. Products without metrics sort last by rating.")
class ProductSort:
    field: ProductSortField = ProductSortField.ID
    direction: SortDirection = SortDirection.ASC


@strawberry.type
class ProductEdge:
    cursor: str
    node: Product


@strawberry.type
class ProductConnection:
    edges: list[ProductEdge]
    page_info: PageInfo
    total_count: int

    @strawberry.field
    def nodes(self) -> list[Product]:
        return [edge.node for edge in self.edges]

    @classmethod
    def from_result(cls, result: SearchResult) -> ProductConnection:
        edges = [
            ProductEdge(cursor=cursors.offset_cursor(result.offset + i, result.query), node=Product.from_record(p))
            for i, p in enumerate(result.page.products)
        ]
        return cls(
            edges=edges,
            page_info=PageInfo(
                has_next_page=result.page.has_next,
                has_previous_page=result.offset > 0,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
            total_count=result.page.total,
        )


def _request(filter: ProductFilter | None, sort: ProductSort | None) -> SearchRequest:
    f = filter or ProductFilter()
    s = sort or ProductSort()
    attributes = tuple(AttributeRequest(a.name, a.eq, a.in_) for a in f.attributes or ())
    return SearchRequest(
        category_id=f.category_id,
        price_min_cents=f.price_min,
        price_max_cents=f.price_max,
        year_min=f.year_min,
        year_max=f.year_max,
        attributes=attributes,
        sort="relevance" if sort is None and f.text is not None else s.field.value,
        descending=s.direction is SortDirection.DESC,
        text=f.text,
    )


async def products(
    info: Info,
    filter: ProductFilter | None = None,
    sort: ProductSort | None = None,
    first: int = 20,
    after: str | None = None,
) -> ProductConnection:
    return ProductConnection.from_result(await search(info, _request(filter, sort), first, after))
