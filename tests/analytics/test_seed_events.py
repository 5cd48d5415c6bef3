"""``gateway seed --with-events``: a dataset's orders become the views, cart adds and purchases behind them, each
view before its purchase; seeding them again adds nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.jobs.datasets.rows import Dataset, Order, OrderItem
from gateway.jobs.seed_events import seed_events
from gateway.stores import Sources
from gateway.stores.mongo.schema import EVENTS

ORDERS = [
    Order(880_001, 7, "delivered", "seed-events-1", datetime(2002, 5, 1, 12, tzinfo=UTC), (OrderItem(50, 2, 999),)),
    Order(
        880_002,
        8,
        "cancelled",
        "seed-events-2",
        datetime(2002, 5, 2, 9, tzinfo=UTC),
        (OrderItem(1, 1, 500), OrderItem(181, 1, 700)),
    ),
]


async def test_orders_become_a_funnel_once(sources: Sources) -> None:
    events = sources.mongodb.db[EVENTS]
    mine = {"_id": {"$regex": "^seed:.*:88000[12]:"}}
    await events.delete_many(mine)
    dataset = Dataset(name="seed-events", orders=ORDERS)
    assert await seed_events(sources, dataset, chunk=2) == 3 + 2 * 2  # a cancelled order has no purchases
    first = await events.find(mine, {"_id": 0}).sort([("ts", 1), ("type", 1)]).to_list()
    assert [(e["type"], e["user_id"], e["product_id"]) for e in first if e["user_id"] == 7] == [
        ("view", 7, 50),
        ("add_to_cart", 7, 50),
        ("purchase", 7, 50),
    ]
    assert {e["type"] for e in first if e["user_id"] == 8} == {"view", "add_to_cart"}
    await seed_events(sources, dataset)
    assert await events.count_documents(mine) == len(first)
    await events.delete_many(mine)
