"""The admin reports: sales rows (SalesRow), the funnel (FunnelRecord) and its products (FunnelCounts), search
terms (SearchTermRecord)."""

from __future__ import annotations

from typing import Any

from engine.fields.base import Args, Batch, Call, Impl, Leaf, loaded, root
from resolvers import reports
from resolvers.reports import FunnelCounts, FunnelRecord, SalesRow


async def _sales(call: Call, args: Args) -> Any:
    return await reports.sales_report(call, args["from"], args["to"], args["groupBy"].value)


async def _funnel(call: Call, args: Args) -> Any:
    return await reports.funnel(call, args["from"], args["to"])


async def _top_searches(call: Call, args: Args) -> Any:
    return await reports.top_searches(call, args["from"], args["to"], args["limit"])


async def _category(call: Call, rows: list[SalesRow], args: Args) -> list[Any]:
    keys = [row.category_id for row in rows if row.category_id is not None]
    found = iter(await call.context.loaders.categories.get_many(keys) if keys else ())
    return [None if row.category_id is None else next(found) for row in rows]


async def _products(call: Call, records: list[FunnelRecord], args: Args) -> list[Any]:
    answers: list[Any] = []
    for record in records:
        try:
            answers.append(reports.funnel_products(record, args["limit"]))
        except Exception as exc:
            answers.append(exc)
    return answers


def _product_id(counts: FunnelCounts) -> int:
    assert counts.product_id is not None
    return counts.product_id


FIELDS: dict[str, Impl] = {
    "Query.salesReport": root(_sales),
    "Query.funnel": root(_funnel),
    "Query.topSearches": root(_top_searches),
    "SalesReportRow.day": Leaf("s.day"),
    "SalesReportRow.category": Batch(_category),
    "SalesReportRow.orders": Leaf("s.orders"),
    "SalesReportRow.units": Leaf("s.units"),
    "SalesReportRow.revenue": Leaf("s.revenue_cents"),
    "Funnel.views": Leaf("s.total.views"),
    "Funnel.cartAdds": Leaf("s.total.cart_adds"),
    "Funnel.purchases": Leaf("s.total.purchases"),
    "Funnel.viewToCart": Leaf("s.total.view_to_cart"),
    "Funnel.cartToPurchase": Leaf("s.total.cart_to_purchase"),
    "Funnel.products": Batch(_products),
    "FunnelProduct.views": Leaf("s.views"),
    "FunnelProduct.cartAdds": Leaf("s.cart_adds"),
    "FunnelProduct.purchases": Leaf("s.purchases"),
    "FunnelProduct.viewToCart": Leaf("s.view_to_cart"),
    "FunnelProduct.cartToPurchase": Leaf("s.cart_to_purchase"),
    "FunnelProduct.product": Batch(loaded(lambda loaders: loaders.products, _product_id)),
    "SearchTerm.terms": Leaf("s.terms"),
    "SearchTerm.count": Leaf("s.count"),
    "SearchTerm.zeroResults": Leaf("s.zero_results"),
}
