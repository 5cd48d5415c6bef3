"""What the reports read from MySQL: the orders (not cancelled) of a time range, per UTC day and category."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import text

from gateway.stores.guard import bulk_bound, guarded
from gateway.stores.mysql.client import DRIVER_ERRORS, MySQLSource

ALL = 0  # the category id of a day's totals (every category at once: an order counts once)

_BY_CATEGORY = """
SELECT DATE(o.created_at) AS day, pc.category_id, COUNT(DISTINCT o.id), SUM(i.quantity),
       SUM(i.quantity * i.unit_price_cents)
FROM orders o JOIN order_items i ON i.order_id = o.id JOIN product_categories pc ON pc.product_id = i.product_id
WHERE o.status <> 'cancelled' AND o.created_at >= :since AND o.created_at < :until
GROUP BY day, pc.category_id
"""
_TOTALS = """
SELECT DATE(o.created_at) AS day, COUNT(DISTINCT o.id), SUM(i.quantity), SUM(i.quantity * i.unit_price_cents)
FROM orders o JOIN order_items i ON i.order_id = o.id
WHERE o.status <> 'cancelled' AND o.created_at >= :since AND o.created_at < :until
GROUP BY day
"""


@dataclass(frozen=True, slots=True)
class DailySales:
    day: date
    category_id: int  # ALL for the day's totals
    orders: int
    units: int
    revenue_cents: int


async def daily_sales(source: MySQLSource, since: datetime, until: datetime) -> list[DailySales]:
    """Per UTC day in [since, until): per category (a product in two categories counts in both) and in all."""

    async def run() -> list[DailySales]:
        async with source.engine.connect() as conn:
            window = {"since": since, "until": until}
            rows = [
                DailySales(day, int(category), int(n), int(units), int(revenue))
                for day, category, n, units, revenue in await conn.execute(text(_BY_CATEGORY), window)
            ]
            rows += [
                DailySales(day, ALL, int(n), int(units), int(revenue))
                for day, n, units, revenue in await conn.execute(text(_TOTALS), window)
            ]
            return rows

    return await guarded(source, bulk_bound(source, 120), run(), DRIVER_ERRORS, operation="report_daily_sales")


async def first_order_at(source: MySQLSource) -> datetime | None:
    async def run() -> datetime | None:
        async with source.engine.connect() as conn:
            found: datetime | None = (await conn.execute(text("SELECT MIN(created_at) FROM orders"))).scalar()
            return found

    return await guarded(source, source.timeout, run(), DRIVER_ERRORS, operation="report_first_order")


async def category_names(source: MySQLSource) -> dict[int, str]:
    async def run() -> dict[int, str]:
        async with source.engine.connect() as conn:
            return {int(i): str(n) for i, n in await conn.execute(text("SELECT id, name FROM categories"))}

    return await guarded(source, source.timeout, run(), DRIVER_ERRORS, operation="report_categories")
