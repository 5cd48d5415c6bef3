"""Where MySQL holds given (user, product) pairs: ratings and order lines. For checks that data was held out of
the stores (bench/quality.py); one statement per table."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select, tuple_

from gateway.stores.guard import guarded
from gateway.stores.mysql import tables as t
from gateway.stores.mysql.client import DRIVER_ERRORS, MySQLSource

Pair = tuple[int, int]  # (user id, product id)


async def pairs_present(source: MySQLSource, pairs: Sequence[Pair]) -> dict[str, int]:
    """How many ratings and order lines (of any status) join one of ``pairs``, per table."""
    if not pairs:
        return {"ratings": 0, "order_items": 0}
    wanted = [tuple(pair) for pair in pairs]
    rated = select(func.count()).where(tuple_(t.ratings.c.user_id, t.ratings.c.product_id).in_(wanted))
    bought = (
        select(func.count())
        .select_from(t.order_items.join(t.orders))
        .where(tuple_(t.orders.c.user_id, t.order_items.c.product_id).in_(wanted))
    )

    async def run() -> dict[str, int]:
        async with source.engine.connect() as conn:
            return {
                "ratings": int((await conn.execute(rated)).scalar_one()),
                "order_items": int((await conn.execute(bought)).scalar_one()),
            }

    return await guarded(source, source.timeout, run(), DRIVER_ERRORS, operation="pairs_present", keys=pairs)
