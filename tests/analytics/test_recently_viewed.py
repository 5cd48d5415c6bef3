"""``viewer.recentlyViewed(limit)``: the products a user viewed (X-Gateway-View), latest first, each once, from the
MongoDB events; private like the user's orders."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette

from gateway.jobs.seeding import SeedReport
from gateway.stores import Sources
from gateway.stores.mongo.schema import EVENTS
from tests.conftest import gql

RECENT = "query RecentlyViewed($n: Int!) { viewer { recentlyViewed(limit: $n) { id title } } }"
OF_USER = 'query ViewedBy { user(id: "21") { recentlyViewed(limit: 3) { id } } }'
PAGE = "query ViewProduct($id: ID!) { product(id: $id) { id } }"
USER = 21


async def test_recently_viewed_is_latest_first_each_once(
    client: httpx.AsyncClient, app: Starlette, sources: Sources, seeded: SeedReport
) -> None:
    await sources.mongodb.db[EVENTS].delete_many({"user_id": USER, "type": "view"})
    recorder = app.state.lifespan_state["sources"].mongodb.events
    for product in ("50", "181", "1", "50", "7"):
        await gql(client, PAGE, {"id": product}, user=USER, headers={"X-Gateway-View": product})
        assert await recorder.flush()  # one write per view: each its own time
    body = await gql(client, RECENT, {"n": 3}, user=USER)
    assert body["data"]["viewer"]["recentlyViewed"] == [
        {"id": "7", "title": body["data"]["viewer"]["recentlyViewed"][0]["title"]},
        {"id": "50", "title": "Star Wars"},
        {"id": "1", "title": body["data"]["viewer"]["recentlyViewed"][2]["title"]},
    ]
    everything = await gql(client, RECENT, {"n": 10}, user=USER)
    assert [p["id"] for p in everything["data"]["viewer"]["recentlyViewed"]] == ["7", "50", "1", "181"]
    assert [p["id"] for p in (await gql(client, OF_USER, admin=True))["data"]["user"]["recentlyViewed"]] == [
        "7",
        "50",
        "1",
    ]
    await sources.mongodb.db[EVENTS].delete_many({"user_id": USER, "type": "view"})


async def test_recently_viewed_is_private_and_bounded(client: httpx.AsyncClient, seeded: SeedReport) -> None:
    other = await gql(client, OF_USER, user=22)
    assert other["data"]["user"]["recentlyViewed"] is None
    assert other["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    bad = await gql(client, RECENT, {"n": 0}, user=USER)
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    none = await gql(client, RECENT, {"n": 5}, user=USER)
    assert none["data"]["viewer"]["recentlyViewed"] == []
