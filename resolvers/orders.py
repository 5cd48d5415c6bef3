"""A user's orders, newest first, keyset paged (one statement for every user of a list)."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.domain.records import OrderRecord
from loaders.keys import OrderPageKey
from resolvers import cursors
from resolvers.arguments import page_size
from resolvers.info import Info


@dataclass(frozen=True, slots=True)
class OrderPage:
    orders: list[OrderRecord]
    has_next: bool
    has_previous: bool


async def page(info: Info, user_id: int, first: int, after: str | None) -> OrderPage:
    limit = page_size(first, info.context.settings.max_page_size)
    before = cursors.parse_order_cursor(after) if after is not None else None
    rows = await info.context.loaders.order_pages.load(OrderPageKey(user_id, limit + 1, before))
    info.context.loaders.orders.prime_many({row.id: row for row in rows})
    return OrderPage(rows[:limit], len(rows) > limit, before is not None)
