"""A user's orders, newest first, keyset paged (one statement for every user of a list)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gateway.domain.records import OrderRecord
from loaders.keys import OrderPageKey
from resolvers import cursors
from resolvers.arguments import page_size
from resolvers.info import Resolving
from resolvers.results import one


@dataclass(frozen=True, slots=True)
class OrderPage:
    user_id: int
    orders: list[OrderRecord]
    has_next: bool
    has_previous: bool


async def pages(
    info: Resolving, user_ids: Sequence[int], first: int, after: str | None
) -> list[OrderPage | BaseException]:
    """Each user's page (one batch for all of them); a bad ``first`` or ``after`` raises for all."""
    limit = page_size(first, info.context.settings.max_page_size)
    before = cursors.parse_order_cursor(after) if after is not None else None
    loaders = info.context.loaders
    found = await loaders.order_pages.get_many([OrderPageKey(user_id, limit + 1, before) for user_id in user_ids])
    out: list[OrderPage | BaseException] = []
    for user_id, rows in zip(user_ids, found, strict=True):
        if isinstance(rows, BaseException):
            out.append(rows)
            continue
        loaders.orders.prime_many({row.id: row for row in rows})
        out.append(OrderPage(user_id, rows[:limit], len(rows) > limit, before is not None))
    return out


async def page(info: Resolving, user_id: int, first: int, after: str | None) -> OrderPage:
    return one(await pages(info, [user_id], first, after))
