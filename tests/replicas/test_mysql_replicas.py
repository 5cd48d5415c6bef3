"""MySQL read replicas against the local MariaDB replica: a query's reads land on the replica (its own Com_select
grows, the primary's does not; explain and /metrics say "replica"), writes and a mutation's reads on the primary,
and read-your-writes holds while replication is paused: the writer reads its order from the primary, another
viewer's read (on the replica) does not see it yet, and does once replication resumes."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import httpx

from gateway.config import Settings
from gateway.stores import Sources
from gateway.stores.mysql.client import MySQLSource, replica_reads
from loaders.cached import invalidate
from tests.conftest import ADMIN_ID, gql, make_test_settings
from tests.replicas.conftest import caught_up, replica_sql, selects
from tests.writes.conftest import OTHER_ID, PRODUCT_ID

RUN = uuid.uuid4().hex[:8]
WRITER, OTHER, EDITOR = 11, ADMIN_ID, 944
PAGE = "{ products(first: 5, sort: {field: PRICE, direction: DESC}) { totalCount edges { node { id title } } } }"
ORDER = "query ($id: ID!) { order(id: $id) { id status user { id } } }"
CREATE = """
mutation ($key: String!, $product: ID!) {
  createOrder(input: {items: [{productId: $product, quantity: 1}]}, idempotencyKey: $key) { id status }
}
"""


def mysql_targets(body: dict[str, Any]) -> list[str | None]:
    """The target of each MySQL call the request made, in order."""
    calls = body["extensions"]["explain"]["sources"].get("mysql", {"calls": []})["calls"]
    return [call.get("target") for call in calls]


async def test_query_reads_land_on_the_replica(replica_client: httpx.AsyncClient, replica_sources: Sources) -> None:
    replica = replica_sources.mysql.replicas[0]
    primary_before, replica_before = await selects(replica_sources), await selects(replica)
    body = await gql(replica_client, PAGE, explain=True)
    assert "errors" not in body, body
    assert body["data"]["products"]["totalCount"] > 0
    targets = mysql_targets(body)
    assert targets, body
    assert set(targets) == {"replica"}, targets
    explained = body["extensions"]["explain"]["sources"]["mysql"]
    assert explained["targets"] == {"replica": len(targets)}
    assert await selects(replica) - replica_before >= len(targets)  # the replica's own counter
    assert await selects(replica_sources) == primary_before  # the primary answered no SELECT

    metrics = (await replica_client.get("/metrics")).text
    assert 'gateway_store_target_calls_total{operation="product_page",source="mysql",target="replica"}' in metrics


async def test_a_mutation_writes_and_reads_on_the_primary(
    replica_client: httpx.AsyncClient, replica_sources: Sources, stocked: list[int]
) -> None:
    await caught_up(replica_sources)
    body = await gql(
        replica_client, CREATE, {"key": f"replica-write-{RUN}", "product": str(PRODUCT_ID)}, user=WRITER, explain=True
    )
    assert "errors" not in body, body
    targets = mysql_targets(body)
    assert targets, body
    assert set(targets) == {"primary"}, targets


async def test_read_your_writes_while_replication_is_paused(
    replica_client: httpx.AsyncClient, replica_sources: Sources, stocked: list[int]
) -> None:
    await caught_up(replica_sources)
    replica_sql("STOP SLAVE SQL_THREAD")
    try:
        created = await gql(
            replica_client, CREATE, {"key": f"replica-ryw-{RUN}", "product": str(PRODUCT_ID)}, user=WRITER
        )
        order_id = created["data"]["createOrder"]["id"]

        mine = await gql(replica_client, ORDER, {"id": order_id}, user=WRITER, explain=True)
        assert mine["data"]["order"] == {"id": order_id, "status": "PENDING", "user": {"id": str(WRITER)}}, mine
        assert set(mysql_targets(mine)) == {"primary"}

        theirs = await gql(replica_client, ORDER, {"id": order_id}, user=OTHER, admin=True, explain=True)
        assert theirs["data"] is None or theirs["data"]["order"] is None, theirs  # the replica has not applied it
        assert [error["extensions"]["code"] for error in theirs["errors"]] == ["NOT_FOUND"]
        assert set(mysql_targets(theirs)) == {"replica"}
    finally:
        replica_sql("START SLAVE")
    await caught_up(replica_sources)
    theirs = await gql(replica_client, ORDER, {"id": order_id}, user=OTHER, admin=True, explain=True)
    assert theirs["data"]["order"]["id"] == order_id, theirs
    assert set(mysql_targets(theirs)) == {"replica"}


async def test_a_guest_session_reads_its_writes_on_the_primary(
    replica_client: httpx.AsyncClient, replica_settings: Settings
) -> None:
    session = {"X-Session-Id": f"replica-guest-{RUN}-0123456789"}
    before = await gql(replica_client, PAGE, explain=True, headers=session)
    assert set(mysql_targets(before)) == {"replica"}
    added = await gql(
        replica_client, 'mutation { addToCart(productId: "1", quantity: 1) { items { quantity } } }', headers=session
    )
    assert "errors" not in added, added
    after = await gql(replica_client, PAGE, explain=True, headers=session)
    assert set(mysql_targets(after)) == {"primary"}  # this session wrote: its window is open
    stranger = await gql(replica_client, PAGE, explain=True)
    assert set(mysql_targets(stranger)) == {"replica"}


async def test_without_replicas_nothing_is_routed(sources: Sources, client: httpx.AsyncClient) -> None:
    settings = make_test_settings()
    assert settings.mysql_replica_urls == ()
    assert sources.mysql.replicas == ()
    assert sources.mysql.target is None
    with replica_reads(True):
        assert sources.mysql.reader() is sources.mysql
    body = await gql(client, PAGE, explain=True)
    calls = body["extensions"]["explain"]["sources"]["mysql"]
    assert "targets" not in calls
    assert all("target" not in call for call in calls["calls"])


async def test_a_replica_with_an_open_breaker_is_skipped(replica_settings: Settings) -> None:
    source = MySQLSource(replica_settings)
    try:
        with replica_reads(True):
            assert source.reader() is source.replicas[0]
            source.replicas[0].breaker._open("test")
            assert source.reader() is source
        assert source.reader() is source  # outside a query: the primary
    finally:
        await source.close()


async def test_the_entity_cache_is_not_refilled_from_a_lagging_replica(
    replica_client: httpx.AsyncClient, replica_sources: Sources, replica_settings: Settings, stocked: list[int]
) -> None:
    product = "query ($id: ID!) { product(id: $id) { id title } }"
    update = "mutation ($id: ID!, $t: String!) { updateProduct(id: $id, input: {title: $t}) { title } }"
    await gql(replica_client, product, {"id": str(PRODUCT_ID)})  # cached as it is
    await caught_up(replica_sources)
    replica_sql("STOP SLAVE SQL_THREAD")
    try:
        changed = await gql(
            replica_client, update, {"id": str(PRODUCT_ID), "t": f"Renamed {RUN}"}, user=EDITOR, admin=True
        )
        assert changed["data"]["updateProduct"]["title"] == f"Renamed {RUN}", changed
        # The mutation's own answer refilled the cache from the primary: drop it again (as another writer's
        # invalidation would), so that the next reader misses.
        assert await invalidate(replica_sources, replica_settings, [("product", PRODUCT_ID)])
        stale = replica_sql(f"SELECT title FROM {replica_settings.mysql_database}.products WHERE id = {PRODUCT_ID}")
        assert stale != f"Renamed {RUN}"  # the replica still has the old title
        # A guest with no session reads replicas, but this product was invalidated within the window: its miss is
        # fetched from the primary, and what the cache is refilled with is the new title.
        guest = await gql(replica_client, product, {"id": str(PRODUCT_ID)}, explain=True)
        assert guest["data"]["product"]["title"] == f"Renamed {RUN}", guest
        assert "primary" in mysql_targets(guest)
        assert guest["extensions"]["explain"]["cache"]["product"]["misses"] == 1
        again = await gql(replica_client, product, {"id": str(PRODUCT_ID)}, explain=True)
        assert again["data"]["product"]["title"] == f"Renamed {RUN}", again
        assert again["extensions"]["explain"]["cache"]["product"]["hits"] == 1
    finally:
        replica_sql("START SLAVE")
    await caught_up(replica_sources)


async def test_a_response_holding_a_recently_invalidated_entity_is_not_stored(
    replica_client: httpx.AsyncClient, replica_sources: Sources, replica_settings: Settings, stocked: list[int]
) -> None:
    document = f"query Replicated{RUN} ($id: ID!) {{ product(id: $id) {{ id title }} }}"
    persisted = {"version": 1, "sha256Hash": hashlib.sha256(document.encode()).hexdigest()}

    async def ask(product_id: int) -> dict[str, Any]:
        payload = {"query": document, "variables": {"id": str(product_id)}}
        payload["extensions"] = {"persistedQuery": persisted, "explain": True}
        response = await replica_client.post("/graphql", json=payload)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    assert (await ask(OTHER_ID))["extensions"]["explain"]["responseCache"] == "stored"  # nothing changed there
    assert await invalidate(replica_sources, replica_settings, [("product", PRODUCT_ID)])
    answered = await ask(PRODUCT_ID)
    assert answered["data"]["product"]["id"] == str(PRODUCT_ID)
    assert answered["extensions"]["explain"]["responseCache"] == (
        "not stored (an entity changed within the replicas' window)"
    )
    assert (await ask(PRODUCT_ID))["extensions"]["explain"]["responseCache"] != "hit"
