"""The outbox relay against real stores: applied once, in order per aggregate, delayed (never parked) while a
store is down, parked only for a bad payload, and nothing drifts afterwards."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, select

from gateway.jobs.reconcile import check
from gateway.jobs.relay import Relay
from gateway.stores import Sources
from gateway.stores.mongo.schema import EVENTS, PRODUCT_METRICS
from gateway.stores.mysql import outbox as mysql_outbox
from gateway.stores.mysql import tables as t
from tests.conftest import eventually, gql, make_test_settings
from tests.http.test_ready_when_a_store_stops import services
from tests.writes.conftest import OTHER_ID, PRODUCT_ID, STOCK
from tests.writes.test_orders import line, order

FAST = make_test_settings(relay_backoff_s=0.01, relay_max_attempts=3, relay_batch_size=7)


async def purchased(sources: Sources, product_id: int) -> set[int]:
    result = await sources.neo4j.driver.execute_query(
        "MATCH (:User)-[e:PURCHASED]->(:Product {id: $id}) RETURN e.order_id AS o",
        {"id": product_id},
        database_=sources.neo4j.database,
    )
    return {record["o"] for record in result.records}


async def place(client: httpx.AsyncClient, count: int, product_id: int, prefix: str) -> list[int]:
    """``count`` orders of one line, all at once (each answer re-reads the product: its stock changed)."""
    bodies = await asyncio.gather(
        *(order(client, 30 + i, f"{prefix}-{i:04d}", [line(product_id)]) for i in range(count))
    )
    assert all("errors" not in b for b in bodies), [b.get("errors") for b in bodies]
    return [int(b["data"]["createOrder"]["id"]) for b in bodies]


async def test_orders_reach_neo4j_and_mongodb_once(
    client: httpx.AsyncClient, sources: Sources, stocked: list[int]
) -> None:
    order_ids = await place(client, 5, PRODUCT_ID, "projected")
    assert await purchased(sources, PRODUCT_ID) == set()  # not before the relay runs
    report = await Relay(sources, FAST, name="r1").drain()
    assert len(report.applied) == 5
    assert (report.delayed, report.parked) == ([], [])
    assert await purchased(sources, PRODUCT_ID) == set(order_ids)
    metrics = await sources.mongodb.db[PRODUCT_METRICS].find_one({"_id": PRODUCT_ID})
    assert metrics is not None
    assert metrics["popularity"] == 5
    assert await sources.mongodb.db[EVENTS].count_documents({"product_id": PRODUCT_ID, "type": "purchase"}) == 5
    assert (await Relay(sources, FAST, name="r1").drain()).applied == []
    lag = await mysql_outbox.lag(sources.mysql, 5)
    assert (lag.pending, lag.parked) == (0, 0)
    assert not (await check(sources)).drift


async def test_two_relays_apply_every_event_exactly_once(
    client: httpx.AsyncClient, sources: Sources, stocked: list[int]
) -> None:
    order_ids = await place(client, STOCK, PRODUCT_ID, "two-a") + await place(client, STOCK, OTHER_ID, "two-b")
    async with sources.mysql.engine.connect() as conn:
        pending = {row[0] for row in await conn.execute(select(t.outbox.c.id).where(t.outbox.c.processed_at.is_(None)))}
    assert len(pending) == 2 * STOCK
    first, second = await asyncio.gather(Relay(sources, FAST, name="a").drain(), Relay(sources, FAST, name="b").drain())
    assert set(first.applied) | set(second.applied) == pending
    assert not set(first.applied) & set(second.applied)
    assert len(first.applied) + len(second.applied) == len(pending)
    assert first.applied  # both really worked
    assert second.applied
    assert await purchased(sources, PRODUCT_ID) | await purchased(sources, OTHER_ID) == set(order_ids)


async def test_a_bad_payload_is_parked_and_holds_up_nothing(
    client: httpx.AsyncClient, sources: Sources, stocked: list[int]
) -> None:
    async with sources.mysql.engine.begin() as conn:
        bad = (
            await conn.execute(
                insert(t.outbox).values(
                    event_type="order.created", aggregate_type="order", aggregate_id="bad-1", payload={"nope": 1}
                )
            )
        ).lastrowid
        unknown = (
            await conn.execute(
                insert(t.outbox).values(
                    event_type="order.teleported", aggregate_type="order", aggregate_id="bad-2", payload={}
                )
            )
        ).lastrowid
        after_bad = (
            await conn.execute(
                insert(t.outbox).values(
                    event_type="order.status_changed",
                    aggregate_type="order",
                    aggregate_id="bad-1",
                    payload={  # what updateOrderStatus writes
                        "order_id": 1,
                        "user_id": 1,
                        "from": "paid",
                        "to": "shipped",
                        "product_ids": [],
                        "at": "2026-01-01T00:00:00",
                    },
                )
            )
        ).lastrowid
    good = await place(client, 2, PRODUCT_ID, "beside-bad")
    parked: list[int] = []
    applied: list[int] = []

    async def settled() -> bool:
        report = await Relay(sources, FAST, name="p").drain()
        parked.extend(report.parked)
        applied.extend(report.applied)
        return set(parked) == {bad, unknown} and after_bad in applied

    assert await eventually(settled, timeout=30, interval=0.05)
    assert await purchased(sources, PRODUCT_ID) == set(good)
    lag = await mysql_outbox.lag(sources.mysql, 5)
    assert (lag.pending, lag.parked) == (0, 2)
    async with sources.mysql.engine.connect() as conn:
        rows = (
            await conn.execute(select(t.outbox.c.attempts, t.outbox.c.last_error).where(t.outbox.c.id == bad))
        ).one()
    assert rows.attempts == FAST.relay_max_attempts
    assert "bad payload" in rows.last_error


async def test_ratings_reach_the_graph_and_the_metrics(
    client: httpx.AsyncClient, sources: Sources, stocked: list[int]
) -> None:
    rate = "mutation ($p: ID!, $r: Int!) { rateProduct(productId: $p, rating: $r) { id } }"
    for user, stars in ((40, 5), (41, 2), (40, 3)):  # user 40 changes their mind
        body = await gql(client, rate, {"p": str(PRODUCT_ID), "r": stars}, user=user)
        assert "errors" not in body, body
    assert (await gql(client, rate, {"p": str(PRODUCT_ID), "r": 6}, user=40))["errors"][0]["extensions"][
        "code"
    ] == "BAD_USER_INPUT"
    await Relay(sources, FAST).drain()
    result = await sources.neo4j.driver.execute_query(
        "MATCH (u:User)-[e:RATED]->(:Product {id: $id}) RETURN u.id AS u, e.rating AS r ORDER BY u",
        {"id": PRODUCT_ID},
        database_=sources.neo4j.database,
    )
    assert [(r["u"], r["r"]) for r in result.records] == [(40, 3), (41, 2)]
    body = await gql(client, f'{{ product(id: "{PRODUCT_ID}") {{ rating {{ average count }} }} }}')
    assert body["data"]["product"]["rating"] == {"average": 2.5, "count": 2}


@pytest.mark.services
async def test_orders_succeed_with_neo4j_stopped_and_the_relay_catches_up(
    client: httpx.AsyncClient, sources: Sources, stocked: list[int]
) -> None:
    services("stop", "neo4j")
    try:
        order_ids = await place(client, 3, PRODUCT_ID, "neo4j-down")
        report = await Relay(sources, FAST, name="down").run_once()
        assert report.applied == []
        assert len(report.delayed) == 3
        assert report.parked == []
        async with sources.mysql.engine.connect() as conn:
            rows = (await conn.execute(select(t.outbox.c.attempts, t.outbox.c.last_error, t.outbox.c.parked_at))).all()
        assert all(r.attempts == 0 for r in rows)  # a store that is down costs no attempt
        assert all(r.parked_at is None for r in rows)
        assert all("SourceUnavailable" in r.last_error for r in rows)
    finally:
        services("start", "neo4j")

    async def drained() -> Any:
        await Relay(sources, FAST, name="up").drain()
        return (await mysql_outbox.lag(sources.mysql, 5)).pending == 0

    assert await eventually(drained, timeout=60, interval=0.5)
    assert await purchased(sources, PRODUCT_ID) == set(order_ids)
    assert not (await check(sources)).drift


async def test_serve_runs_the_relay_and_ready_reports_the_lag(sources: Sources, stocked: list[int]) -> None:
    from tests.http.conftest import serve

    settings = make_test_settings(relay_in_serve=True, relay_idle_s=0.05)
    async with serve(settings) as client:
        (order_id,) = await place(client, 1, PRODUCT_ID, "in-serve")

        async def applied() -> bool:
            return order_id in await purchased(sources, PRODUCT_ID)

        assert await eventually(applied, timeout=30, interval=0.1)

        async def caught_up() -> Any:
            outbox = (await client.get("/ready")).json()["outbox"]
            return outbox if outbox["pending"] == 0 else None

        assert await eventually(caught_up, timeout=30, interval=0.1) == {
            "pending": 0,
            "oldestPendingAgeS": 0.0,
            "parked": 0,
        }
