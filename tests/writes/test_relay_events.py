"""The relay's behaviour events: a purchase per order line (with its quantity) and a rating per rating change,
keyed by their outbox event, so that a replay adds none."""

from __future__ import annotations

import httpx

from gateway.jobs.relay import Relay
from gateway.stores import Sources
from gateway.stores.mongo.schema import EVENTS
from tests.conftest import gql, make_test_settings
from tests.writes.conftest import OTHER_ID, PRODUCT_ID
from tests.writes.test_orders import line, order

FAST = make_test_settings(relay_backoff_s=0.01)
RATE = "mutation ($p: ID!, $r: Int!) { rateProduct(productId: $p, rating: $r) { id } }"


async def test_purchases_and_ratings_become_events_once(
    client: httpx.AsyncClient, sources: Sources, stocked: list[int]
) -> None:
    placed = await order(client, 12, "relay-events-1", [line(PRODUCT_ID, 2), line(OTHER_ID, 1)])
    assert "errors" not in placed, placed
    for rating in (3, 5):
        body = await gql(client, RATE, {"p": str(PRODUCT_ID), "r": rating}, user=12)
        assert "errors" not in body, body
    await Relay(sources, FAST, name="events").drain()
    found = (
        await sources.mongodb.db[EVENTS]
        .find({"product_id": {"$in": [PRODUCT_ID, OTHER_ID]}}, {"_id": 0, "ts": 0})
        .to_list()
    )
    assert sorted(found, key=lambda e: (e["type"], e["product_id"], e.get("rating", 0))) == [
        {"user_id": 12, "type": "purchase", "product_id": PRODUCT_ID, "quantity": 2},
        {"user_id": 12, "type": "purchase", "product_id": OTHER_ID, "quantity": 1},
        {"user_id": 12, "type": "rate", "product_id": PRODUCT_ID, "rating": 3},
        {"user_id": 12, "type": "rate", "product_id": PRODUCT_ID, "rating": 5},
    ]
    ids = [doc["_id"] async for doc in sources.mongodb.db[EVENTS].find({"product_id": PRODUCT_ID})]
    assert all(str(i).startswith("outbox:") for i in ids)
