"""The admin queries over the report collections (built by gateway/jobs/reports.py): sales per day and category,
the conversion funnel (views → cart adds → purchases, overall and per product), and the top search texts. Each
reads the days asked for, one find per query; they show what the last build wrote."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from gateway.errors import BadUserInput, Forbidden
from gateway.stores.mongo import reports as mongo_reports
from resolvers.arguments import top_limit
from resolvers.info import Resolving
from resolvers.permissions import signed_in

MAX_DAYS = 400
ALL = 0  # the category id of a day's totals


@dataclass(frozen=True, slots=True)
class SalesRow:
    day: date | None  # None: summed over the days (grouped by category)
    category_id: int | None  # None: every category at once (an order counts once)
    orders: int
    units: int
    revenue_cents: int


@dataclass(frozen=True, slots=True)
class FunnelCounts:
    product_id: int | None  # None: every product
    views: int
    cart_adds: int
    purchases: int

    @property
    def view_to_cart(self) -> float | None:
        return self.cart_adds / self.views if self.views else None

    @property
    def cart_to_purchase(self) -> float | None:
        return self.purchases / self.cart_adds if self.cart_adds else None


@dataclass(frozen=True, slots=True)
class FunnelRecord:
    total: FunnelCounts
    products: list[FunnelCounts]  # most viewed first (then most bought, then by id)


@dataclass(frozen=True, slots=True)
class SearchTermRecord:
    terms: str
    count: int
    zero_results: int


def _admin_days(info: Resolving, first: date, last: date) -> tuple[str, str]:
    if not signed_in(info).is_admin:
        raise Forbidden("reports are for admins")
    if first > last:
        raise BadUserInput("from is after to")
    if (last - first).days >= MAX_DAYS:
        raise BadUserInput(f"a report covers at most {MAX_DAYS} days")
    return first.isoformat(), last.isoformat()


async def sales_report(info: Resolving, first: date, last: date, group_by: str) -> list[SalesRow]:
    """``group_by``: ``day`` (every category at once), ``category`` (summed over the days) or ``day_and_category``.
    A product in two categories counts in both; so does its order."""
    days = _admin_days(info, first, last)
    docs = await mongo_reports.read_days(info.context.sources.mongodb, mongo_reports.DAILY_SALES, *days)
    if group_by == "day":
        rows = [
            SalesRow(date.fromisoformat(d["day"]), None, d["orders"], d["units"], d["revenue_cents"])
            for d in docs
            if d["category_id"] == ALL
        ]
        return sorted(rows, key=lambda r: r.day or first)
    by_category = [d for d in docs if d["category_id"] != ALL]
    if group_by == "category":
        sums: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
        for d in by_category:
            total = sums[d["category_id"]]
            total[0] += d["orders"]
            total[1] += d["units"]
            total[2] += d["revenue_cents"]
        rows = [SalesRow(None, c, o, u, r) for c, (o, u, r) in sums.items()]
        return sorted(rows, key=lambda r: (-r.revenue_cents, r.category_id or 0))
    rows = [
        SalesRow(date.fromisoformat(d["day"]), d["category_id"], d["orders"], d["units"], d["revenue_cents"])
        for d in by_category
    ]
    return sorted(rows, key=lambda r: (r.day or first, -r.revenue_cents, r.category_id or 0))


async def funnel(info: Resolving, first: date, last: date) -> FunnelRecord:
    """Events counted, not people: every view, cart add and purchase (an order line) in the days."""
    days = _admin_days(info, first, last)
    docs = await mongo_reports.read_days(info.context.sources.mongodb, mongo_reports.PRODUCTS, *days)
    sums: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    for d in docs:
        counts = sums[d["product_id"]]
        counts[0] += d["views"]
        counts[1] += d["cart_adds"]
        counts[2] += d["purchases"]
    products = [FunnelCounts(pid, v, a, p) for pid, (v, a, p) in sums.items()]
    products.sort(key=lambda f: (-f.views, -f.purchases, f.product_id or 0))
    total = FunnelCounts(
        None, sum(f.views for f in products), sum(f.cart_adds for f in products), sum(f.purchases for f in products)
    )
    return FunnelRecord(total, products)


def funnel_products(record: FunnelRecord, limit: int) -> list[FunnelCounts]:
    return record.products[: top_limit(limit)]


async def top_searches(info: Resolving, first: date, last: date, limit: int) -> list[SearchTermRecord]:
    """The texts searched most often (case aside), with how many of those searches found nothing."""
    days = _admin_days(info, first, last)
    limit = top_limit(limit)
    docs = await mongo_reports.read_days(info.context.sources.mongodb, mongo_reports.SEARCHES, *days)
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for d in docs:
        counts = sums[d["terms"]]
        counts[0] += d["count"]
        counts[1] += d["zero_results"]
    terms = [SearchTermRecord(t, n, zero) for t, (n, zero) in sums.items()]
    terms.sort(key=lambda s: (-s.count, s.terms))
    return terms[:limit]
