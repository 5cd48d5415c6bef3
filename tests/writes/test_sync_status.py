"""syncStatus (admin): counts per store read from each store, the outbox backlog and parked events, the last
reconcile check; runReconcileCheck runs one at a time (a Redis lock), bounded, and stores what syncStatus reads.
A store that is down fails only its own counts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import func, insert, select

from gateway.config import Settings
from gateway.jobs.relay import Relay
from gateway.jobs.seeding import SeedReport
from gateway.stores import Sources
from gateway.stores.mongo.schema import PRODUCT_ATTRIBUTES, USER_PROFILES
from gateway.stores.mysql import tables as t
from gateway.stores.mysql.outbox import outbox_row
from tests.conftest import eventually, gql, make_test_settings
from tests.http.conftest import serve
from tests.services import services
from tests.writes.test_catalog import codes, graph
from tests.writes.test_relay import FAST

STATUS = """{ syncStatus {
  mysql { users products edges } mongodb { users products edges } neo4j { users products edges }
  outbox { pending lagSeconds parkedCount parked { id eventType aggregateId attempts error parkedAt } }
  reconcileRunning
  lastReconcile { at durationMs drift error
    comparisons { name store target sourceCount copyCount missing extra } } } }"""
LAST = """{ syncStatus { reconcileRunning lastReconcile { at drift error
  comparisons { name store target sourceCount copyCount missing extra missingSample extraSample } } } }"""
RUN = "mutation { runReconcileCheck { startedAt timeoutSeconds } }"


def reconcile_keys(settings: Settings) -> tuple[str, str]:
    base = f"{settings.cache_namespace}:{settings.mysql_database}:reconcile:"
    return base + "lock", base + "last"


@pytest_asyncio.fixture
async def clean_outbox(sources: Sources, settings: Settings, seeded: SeedReport) -> AsyncIterator[None]:
    """No outbox rows and no stored reconcile result before and after."""

    async def clean() -> None:
        async with sources.mysql.engine.begin() as conn:
            await conn.execute(t.outbox.delete())
        await sources.redis.client.delete(*reconcile_keys(settings))

    await clean()
    yield
    await clean()


async def test_counts_come_from_each_store_and_parked_events_show_their_error(
    client: httpx.AsyncClient, sources: Sources, clean_outbox: None
) -> None:
    async with sources.mysql.engine.begin() as conn:
        users = (
            await conn.execute(select(func.count()).select_from(t.users).where(t.users.c.deleted_at.is_(None)))
        ).scalar_one()
        products = (await conn.execute(select(func.count()).select_from(t.products))).scalar_one()
        ratings = (await conn.execute(select(func.count()).select_from(t.ratings))).scalar_one()
        bad = await conn.execute(insert(t.outbox).values(**outbox_row("no.such.event", "user", 1, {"user_id": 1})))
        bad_id = int(bad.lastrowid)
    for _ in range(FAST.relay_max_attempts):  # counted attempts until it is parked
        await Relay(sources, FAST).drain()
    body = await gql(client, STATUS, admin=True)
    assert "errors" not in body, body
    status = body["data"]["syncStatus"]
    assert status["mysql"]["users"] == users
    assert status["mysql"]["products"] == products
    assert status["mysql"]["edges"] >= ratings
    assert status["mongodb"] == {
        "users": await sources.mongodb.db[USER_PROFILES].count_documents({}),
        "products": await sources.mongodb.db[PRODUCT_ATTRIBUTES].count_documents({}),
        "edges": None,
    }
    (nodes,) = await graph(sources, "MATCH (u:User) RETURN count(u) AS n")
    assert status["neo4j"]["users"] == nodes["n"]
    assert status["outbox"]["pending"] == 0
    assert status["outbox"]["parkedCount"] == 1
    (parked,) = status["outbox"]["parked"]
    assert parked["id"] == str(bad_id)
    assert parked["eventType"] == "no.such.event"
    assert parked["attempts"] == FAST.relay_max_attempts
    assert "unknown event type" in parked["error"]
    assert status["lastReconcile"] is None  # none ran yet


async def finished(client: httpx.AsyncClient, started: dict[str, Any]) -> dict[str, Any]:
    """syncStatus once the check started at ``started`` has stored its result and freed the lock."""

    async def done() -> dict[str, Any] | None:
        status: dict[str, Any] = (await gql(client, LAST, admin=True))["data"]["syncStatus"]
        last = status["lastReconcile"]
        if status["reconcileRunning"] or last is None or last["at"] != started["startedAt"]:
            return None
        return status

    found = await eventually(done, timeout=600, interval=0.5)
    assert found, "the check never stored its result"
    result: dict[str, Any] = found
    return result


async def test_a_reconcile_check_is_stored_for_sync_status(
    client: httpx.AsyncClient, sources: Sources, settings: Settings, clean_outbox: None
) -> None:
    body = await gql(client, RUN, admin=True)
    assert "errors" not in body, body
    started = body["data"]["runReconcileCheck"]
    assert started["timeoutSeconds"] == settings.reconcile_check_timeout_s
    again = await gql(client, RUN, admin=True)  # while the first runs (or has just finished)
    status = await finished(client, started)
    run = status["lastReconcile"]
    assert run["error"] is None
    assert run["drift"] is False
    names = {c["name"] for c in run["comparisons"]}
    assert {"users → neo4j:User", "products → mongodb:product_attributes", "ratings → neo4j:RATED"} <= names
    users = next(c for c in run["comparisons"] if c["name"] == "users → neo4j:User")
    assert users["sourceCount"] == users["copyCount"]
    assert users["missing"] == users["extra"] == 0
    if "errors" in again:  # refused while the first held the lock
        assert codes(again) == ["CONFLICT"]
    else:  # the first had finished: the second ran; wait for it too
        await finished(client, again["data"]["runReconcileCheck"])


async def test_one_check_at_a_time_and_bounded(
    client: httpx.AsyncClient, sources: Sources, settings: Settings, clean_outbox: None
) -> None:
    lock, last = reconcile_keys(settings)
    await sources.redis.client.set(lock, "another-process", px=60_000)  # a check running elsewhere
    try:
        busy = await gql(client, RUN, admin=True)
        running = (await gql(client, LAST, admin=True))["data"]["syncStatus"]["reconcileRunning"]
    finally:
        await sources.redis.client.delete(lock)
    assert codes(busy) == ["CONFLICT"]
    assert busy["data"] is None
    assert running is True
    assert await sources.redis.client.get(last) is None  # nothing ran, nothing stored
    async with serve(make_test_settings(reconcile_check_timeout_s=0.001)) as hurried:
        started = (await gql(hurried, RUN, admin=True))["data"]["runReconcileCheck"]
        status = await finished(hurried, started)
    assert status["lastReconcile"]["error"] == "did not finish within 0.001s"
    assert status["lastReconcile"]["drift"] is None
    assert status["lastReconcile"]["comparisons"] == []
    assert await sources.redis.client.get(lock) is None  # the lock is free again


async def test_only_admins(client: httpx.AsyncClient, clean_outbox: None) -> None:
    assert codes(await gql(client, STATUS, user=5)) == ["FORBIDDEN"]
    assert codes(await gql(client, RUN, user=5)) == ["FORBIDDEN"]
    guest = await client.post("/graphql", json={"query": STATUS})
    assert guest.status_code == 401
    assert codes(guest.json()) == ["UNAUTHENTICATED"]


@pytest.mark.services
async def test_a_store_that_is_down_fails_only_its_own_counts(
    client: httpx.AsyncClient, sources: Sources, clean_outbox: None
) -> None:
    services("stop", "neo4j")
    try:
        body = await gql(client, STATUS, admin=True)
        started = await gql(client, RUN, admin=True)  # the check starts, and fails on Neo4j
        checked = await finished(client, started["data"]["runReconcileCheck"])
    finally:
        services("start", "neo4j")
    status: dict[str, Any] = body["data"]["syncStatus"]
    assert status["neo4j"] is None
    assert status["mysql"]["users"] > 0
    assert status["mongodb"]["users"] > 0
    assert status["outbox"]["pending"] == 0
    (error,) = body["errors"]
    assert error["path"] == ["syncStatus", "neo4j"]
    assert error["extensions"]["code"] in {"SOURCE_UNAVAILABLE", "TIMEOUT"}
    assert error["extensions"]["source"] == "neo4j"
    last = checked["lastReconcile"]
    assert "neo4j" in last["error"]
    assert last["drift"] is None
