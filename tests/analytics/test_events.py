"""Behaviour events: recorded where they happen (views by header, searches, cart changes), written to MongoDB's
``events`` in batches by the app's background task, bounded, and dropped (counted) rather than ever failing or
holding up a request; a MongoDB outage loses only what does not fit in the buffer."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from gateway.config import Settings
from gateway.http.app import create_app
from gateway.jobs.seeding import SeedReport
from gateway.observability.metrics import EVENTS as EVENTS_METRIC
from gateway.stores import Sources, breaker
from gateway.stores.mongo import projection
from gateway.stores.mongo.recorder import EventRecorder
from gateway.stores.mongo.schema import EVENTS, FORGOTTEN_USERS
from tests.conftest import gql, make_test_settings
from tests.services import services

PRODUCT_PAGE = 'query ProductPage { product(id: "50") { id title } }'
SEARCH = "query Search($text: String!) { products(filter: {text: $text}, first: 3) { totalCount nodes { id } } }"
ADD = "mutation ($id: ID!, $n: Int!) { addToCart(productId: $id, quantity: $n) { totalQuantity } }"
REMOVE = "mutation ($id: ID!) { removeFromCart(productId: $id) { totalQuantity } }"


def recorder_of(app: Starlette) -> EventRecorder:
    recorder: EventRecorder = app.state.lifespan_state["sources"].mongodb.events
    return recorder


def device() -> str:
    """A device name of the test's own: its events are told apart by it."""
    return "t" + uuid.uuid4().hex[:16]


async def events_of(sources: Sources, device: str) -> list[dict[str, Any]]:
    cursor = sources.mongodb.db[EVENTS].find({"device": device}, {"_id": 0}).sort("ts", 1)
    return await cursor.to_list()


def counted(outcome: str) -> float:
    return EVENTS_METRIC.labels(outcome)._value.get()


async def test_a_view_header_records_a_view_per_product_and_the_read_is_unchanged(
    client: httpx.AsyncClient, app: Starlette, sources: Sources, seeded: SeedReport
) -> None:
    name = device()
    plain = await gql(client, PRODUCT_PAGE)
    viewed = await gql(client, PRODUCT_PAGE, user=7, headers={"X-Gateway-View": "50, 181", "X-Device": name})
    assert viewed == plain  # marking a read as a view changes nothing in its answer
    guest = {"X-Gateway-View": "50", "X-Device": name, "X-Session-Id": "events-guest-0001"}
    await gql(client, PRODUCT_PAGE, headers=guest)
    assert await recorder_of(app).flush()
    found = await events_of(sources, name)
    assert sorted((e["type"], e.get("user_id", 0), e.get("session_id", ""), e["product_id"]) for e in found) == [
        ("view", 0, "events-guest-0001", 50),
        ("view", 7, "", 50),
        ("view", 7, "", 181),
    ]


@pytest.mark.parametrize("header", ["abc", "50,", "0", "-3", ",".join(["1"] * 21), "5" * 19])
async def test_a_malformed_view_header_is_ignored(
    client: httpx.AsyncClient, app: Starlette, sources: Sources, seeded: SeedReport, header: str
) -> None:
    name = device()
    body = await gql(client, PRODUCT_PAGE, headers={"X-Gateway-View": header, "X-Device": name})
    assert body == {"data": {"product": {"id": "50", "title": "Star Wars"}}}
    assert await recorder_of(app).flush()
    assert await events_of(sources, name) == []


async def test_the_device_comes_from_the_user_agent_without_x_device(
    client: httpx.AsyncClient, app: Starlette, sources: Sources, seeded: SeedReport
) -> None:
    session = "events-ua-" + uuid.uuid4().hex[:12]
    agent = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"
    await gql(client, PRODUCT_PAGE, headers={"X-Gateway-View": "50", "X-Session-Id": session, "User-Agent": agent})
    assert await recorder_of(app).flush()
    found = await sources.mongodb.db[EVENTS].find({"session_id": session}).to_list()
    assert [(e["type"], e["device"]) for e in found] == [("view", "mobile")]


async def test_searches_are_recorded_with_their_terms_and_result_count(
    client: httpx.AsyncClient, app: Starlette, sources: Sources, seeded: SeedReport
) -> None:
    name = device()
    body = await gql(client, SEARCH, {"text": "  star   wars "}, user=7, headers={"X-Device": name})
    total = body["data"]["products"]["totalCount"]
    assert total >= 1
    after = body["data"]["products"]["nodes"]
    assert after[0] == {"id": "50"}
    # the next page of a search is not a search of its own
    await gql(client, PRODUCT_PAGE, headers={"X-Device": name})
    assert await recorder_of(app).flush()
    found = await events_of(sources, name)
    assert [(e["type"], e["user_id"], e["terms"], e["results"]) for e in found] == [("search", 7, "star wars", total)]


async def test_cart_changes_are_recorded_once_they_are_made(
    client: httpx.AsyncClient, app: Starlette, sources: Sources, seeded: SeedReport
) -> None:
    name = device()
    session = "events-cart-" + uuid.uuid4().hex[:12]
    headers = {"X-Device": name, "X-Session-Id": session}
    await gql(client, ADD, {"id": "50", "n": 2}, headers=headers)
    refused = await gql(client, ADD, {"id": "50", "n": 5000}, headers=headers)  # over the cap: no change
    assert refused["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    await gql(client, REMOVE, {"id": "181"}, headers=headers)  # not in the cart: no change
    await gql(client, REMOVE, {"id": "50"}, headers=headers)
    assert await recorder_of(app).flush()
    found = await events_of(sources, name)
    assert [(e["type"], e["session_id"], e["product_id"], e.get("quantity")) for e in found] == [
        ("add_to_cart", session, 50, 2),
        ("remove_from_cart", session, 50, None),
    ]


async def test_a_full_buffer_drops_new_events_and_counts_them(sources: Sources, settings: Settings) -> None:
    recorder = EventRecorder(sources.mongodb, make_test_settings(events_buffer_size=10, events_batch_size=4))
    name = device()
    dropped = counted("dropped_full")
    written = counted("written")
    for _ in range(15):
        recorder.record("view", user_id=3, device=name, product_id=1)
    assert recorder.buffered == 10
    assert counted("dropped_full") == dropped + 5
    assert await recorder.flush()
    assert recorder.buffered == 0
    assert counted("written") == written + 10
    assert len(await events_of(sources, name)) == 10
    await recorder.close()


async def test_closing_writes_what_is_buffered(sources: Sources) -> None:
    recorder = EventRecorder(sources.mongodb, make_test_settings(events_flush_interval_s=60))
    name = device()
    recorder.record("search", session_id="events-close-0001", device=name, terms="alien", results=3)
    await recorder.close()
    assert [e["terms"] for e in await events_of(sources, name)] == ["alien"]
    recorder.record("search", device=name, terms="late")  # after close: dropped, never raised
    assert recorder.buffered == 0


async def test_events_buffered_before_a_user_is_forgotten_are_not_left_behind(sources: Sources) -> None:
    """deleteUser's MongoDB step (tombstone, then delete) runs while this recorder holds the user's events: when the
    batch lands afterwards, the user's events go again and are counted; another user's event in the batch stays."""
    recorder = EventRecorder(sources.mongodb, make_test_settings(events_flush_interval_s=60))
    name = device()
    user_id, other = 990_000 + uuid.uuid4().int % 9_000, 3
    try:
        recorder.record("view", user_id=user_id, device=name, product_id=1)
        recorder.record("add_to_cart", user_id=user_id, device=name, product_id=1, quantity=1)
        recorder.record("view", user_id=other, device=name, product_id=2)
        await projection.forget_user(sources.mongodb, 5.0, user_id)
        dropped, written = counted("dropped_forgotten"), counted("written")
        assert await recorder.flush()
        assert [(e["user_id"], e["type"]) for e in await events_of(sources, name)] == [(other, "view")]
        assert counted("dropped_forgotten") == dropped + 2
        assert counted("written") == written + 1
        # A token still valid after deleteUser: its view is recorded, written, and removed at once.
        recorder.record("view", user_id=user_id, device=name, product_id=3)
        assert await recorder.flush()
        assert await sources.mongodb.db[EVENTS].count_documents({"user_id": user_id}) == 0
    finally:
        await recorder.close()
        await sources.mongodb.db[EVENTS].delete_many({"device": name})
        await sources.mongodb.db[FORGOTTEN_USERS].delete_one({"_id": user_id})


async def test_recording_off_records_nothing(sources: Sources) -> None:
    recorder = EventRecorder(sources.mongodb, make_test_settings(events_recording=False))
    recorder.record("view", product_id=1)
    assert recorder.buffered == 0
    await recorder.close()


async def test_metrics_show_the_events_written_and_buffered(client: httpx.AsyncClient, app: Starlette) -> None:
    await gql(client, PRODUCT_PAGE, headers={"X-Gateway-View": "50"})
    assert await recorder_of(app).flush()
    text = (await client.get("/metrics")).text
    assert 'gateway_events_total{outcome="written"}' in text
    assert "gateway_events_buffered 0.0" in text


@pytest.mark.services
async def test_a_mongodb_outage_never_fails_a_read_and_loses_only_what_the_buffer_cannot_hold(
    sources: Sources, seeded: SeedReport
) -> None:
    """A gateway whose MongoDB stops: reads that record views answer in full (they need no MongoDB field), the
    events wait in the buffer, those beyond its size are dropped and counted, and the rest are written once
    MongoDB is back."""
    name = device()
    settings = make_test_settings(events_buffer_size=5, events_flush_interval_s=0.1, response_cache=False)
    app = create_app(settings)
    async with app.router.lifespan_context(app) as state:

        async def with_state(scope, receive, send):  # type: ignore[no-untyped-def]
            scope["state"] = dict(state or {})
            await app(scope, receive, send)

        recorder: EventRecorder = state["sources"].mongodb.events
        transport = httpx.ASGITransport(app=with_state)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
            services("stop", "mongodb")
            try:
                dropped = counted("dropped_full")
                for _ in range(8):
                    response = await client.post(
                        "/graphql",
                        json={"query": PRODUCT_PAGE},
                        headers={"X-Gateway-View": "50", "X-Device": name},
                        timeout=30,
                    )
                    assert response.status_code == 200
                    assert response.json() == {"data": {"product": {"id": "50", "title": "Star Wars"}}}
                assert not await recorder.flush()  # MongoDB is down: the batch went back
                assert recorder.buffered == 5
                assert counted("dropped_full") == dropped + 3
            finally:
                services("start", "mongodb")
            breaker.reset()
            assert await recorder.flush()
            assert recorder.buffered == 0
    assert len(await events_of(sources, name)) == 5
