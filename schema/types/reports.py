"""The admin reports: ``salesReport``, ``funnel`` and ``topSearches`` (resolvers/reports.py; docs/analytics.md)."""

from __future__ import annotations

from datetime import date
from enum import Enum
from typing import Annotated

import strawberry

from resolvers import reports
from resolvers.info import Info
from resolvers.reports import FunnelCounts, FunnelRecord, SalesRow, SearchTermRecord
from schema.scalars import Money
from schema.types.products import Category, Product

From = Annotated[date, strawberry.argument(name="from", description="First UTC day, included.")]


@strawberry.enum
class SalesGroupBy(Enum):
    DAY = "day"
    CATEGORY = "category"
    DAY_AND_CATEGORY = "day_and_category"


@strawberry.type(description="Orders (not cancelled), units and revenue of a day, a category, or both.")
class SalesReportRow:
    row: strawberry.Private[SalesRow]
    day: date | None = strawberry.field(description="UTC day; null when grouped by category alone.")
    orders: int
    units: int
    revenue: Money

    @classmethod
    def from_row(cls, row: SalesRow) -> SalesReportRow:
        return cls(row=row, day=row.day, orders=row.orders, units=row.units, revenue=Money(row.revenue_cents))

    @strawberry.field(description="Null when grouped by day alone (every category at once).")
    async def category(self, info: Info) -> Category | None:
        if self.row.category_id is None:
            return None
        record = await info.context.loaders.categories.load(self.row.category_id)
        return None if record is None else Category.from_record(record)


@strawberry.type(description="Views, cart adds and purchases (order lines) of a product: events, not people.")
class FunnelProduct:
    counts: strawberry.Private[FunnelCounts]
    views: int
    cart_adds: int
    purchases: int
    view_to_cart: float | None = strawberry.field(description="cartAdds / views; null without views.")
    cart_to_purchase: float | None = strawberry.field(description="purchases / cartAdds; null without cart adds.")

    @classmethod
    def from_counts(cls, counts: FunnelCounts) -> FunnelProduct:
        return cls(
            counts=counts,
            views=counts.views,
            cart_adds=counts.cart_adds,
            purchases=counts.purchases,
            view_to_cart=counts.view_to_cart,
            cart_to_purchase=counts.cart_to_purchase,
        )

    @strawberry.field
    async def product(self, info: Info) -> Product | None:
        assert self.counts.product_id is not None
        record = await info.context.loaders.products.load(self.counts.product_id)
        return None if record is None else Product.from_record(record)


@strawberry.type(description="The conversion funnel of a range of days: view → add to cart → purchase.")
class Funnel:
    record: strawberry.Private[FunnelRecord]
    views: int
    cart_adds: int
    purchases: int
    view_to_cart: float | None
    cart_to_purchase: float | None

    @classmethod
    def from_record(cls, record: FunnelRecord) -> Funnel:
        total = record.total
        return cls(
            record=record,
            views=total.views,
            cart_adds=total.cart_adds,
            purchases=total.purchases,
            view_to_cart=total.view_to_cart,
            cart_to_purchase=total.cart_to_purchase,
        )

    @strawberry.field(description="Per product, most viewed first (the top products).")
    def products(self, limit: int = 10) -> list[FunnelProduct]:
        return [FunnelProduct.from_counts(c) for c in reports.funnel_products(self.record, limit)]


@strawberry.type(description="A search text (case aside) and how often it was searched, and found nothing.")
class SearchTerm:
    terms: str
    count: int
    zero_results: int

    @classmethod
    def from_record(cls, record: SearchTermRecord) -> SearchTerm:
        return cls(terms=record.terms, count=record.count, zero_results=record.zero_results)


async def sales_report(
    info: Info,
    from_: From,
    to: date,
    group_by: SalesGroupBy = SalesGroupBy.DAY,
) -> list[SalesReportRow] | None:
    return [SalesReportRow.from_row(row) for row in await reports.sales_report(info, from_, to, group_by.value)]


async def funnel(info: Info, from_: From, to: date) -> Funnel | None:
    return Funnel.from_record(await reports.funnel(info, from_, to))


async def top_searches(info: Info, from_: From, to: date, limit: int = 10) -> list[SearchTerm] | None:
    return [SearchTerm.from_record(record) for record in await reports.top_searches(info, from_, to, limit)]
