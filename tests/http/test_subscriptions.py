"""orderStatusChanged over graphql-transport-ws, across two real `gateway serve` processes.

Process A serves the subscribers; process B takes the admin's mutation and runs the relay, which publishes each
applied status change on Redis pub/sub. The test waits for what it needs (the order's creation applied, the
subscription registered in Redis: PUBSUB NUMSUB) instead of sleeping.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import func, select
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from gateway.config import Settings
from gateway.jobs import order_events
from gateway.stores import Sources
from gateway.stores.mysql import tables as t
from tests.conftest import ADMIN_ID, eventually, token_for
from tests.serving import Served, new_order
from tests.writes.conftest import (
    PRODUCT_ID,
    stocked,  # noqa: F401  (a fixture of the write tests: products in stock)
)

OWNER = 7
STRANGER = 8
DEADLINE_S = 30.0

UPDATE = "mutation ($id: ID!, $s: OrderStatus!) { updateOrderStatus(id: $id, status: $s) { id status } }"
WATCH = """
subscription ($id: ID!) {
  orderStatusChanged(orderId: $id) {
    from to at
    order { id status user { id } items { quantity product { id } } }
  }
}
"""


@pytest.fixture(scope="module")
def gateways(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, Served]]:
    """A (subscribers) and B (mutations, and the relay)."""
    logs = tmp_path_factory.mktemp("gateways")
    a = Served(logs / "a.log", GATEWAY_RELAY_IN_SERVE="false")
    try:
        b = Served(logs / "b.log", GATEWAY_RELAY_IN_SERVE="true")
        try:
            yield a, b
        finally:
            b.stop()
    finally:
        a.stop()


@pytest_asyncio.fixture
async def order_id(
    client: httpx.AsyncClient,
    sources: Sources,
    stocked: list[int],  # noqa: F811  (imported above: the write tests' products in stock)
) -> int:
    """A new order of OWNER's whose order.created the relay has applied (and so already published)."""
    key = await new_order(client, OWNER)

    async def applied() -> bool:
        async with sources.mysql.engine.connect() as conn:
            pending = (
                await conn.execute(
                    select(func.count())
                    .select_from(t.outbox)
                    .where(t.outbox.c.aggregate_id == str(key), t.outbox.c.processed_at.is_(None))
                )
            ).scalar_one()
        return int(pending) == 0

    assert await eventually(applied, timeout=DEADLINE_S), "the relay in process B did not apply order.created"
    return key


async def listeners(sources: Sources, settings: Settings, key: int) -> int:
    """Connections subscribed to the order's channel: one per gateway process that has a subscriber."""
    counts = await sources.redis.client.pubsub_numsub(order_events.channel(settings, key))
    return int(counts[0][1])


@pytest_asyncio.fixture
async def sockets() -> AsyncIterator[list[ClientConnection]]:
    opened: list[ClientConnection] = []
    yield opened
    for ws in opened:
        await ws.close()


async def open_socket(
    opened: list[ClientConnection], url: str, *, payload: dict[str, str] | None = None, header: str | None = None
) -> ClientConnection:
    ws = await connect(
        url,
        subprotocols=[Subprotocol("graphql-transport-ws")],
        additional_headers={"Authorization": header} if header else None,
    )
    opened.append(ws)
    await ws.send(json.dumps({"type": "connection_init", "payload": payload or {}}))
    return ws


async def receive(ws: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), DEADLINE_S))
    return message


async def acked(opened: list[ClientConnection], url: str, **kwargs: Any) -> ClientConnection:
    ws = await open_socket(opened, url, **kwargs)
    assert (await receive(ws))["type"] == "connection_ack"
    return ws


async def subscribe(ws: ClientConnection, key: int | str, op: str = "1") -> None:
    payload = {"query": WATCH, "variables": {"id": str(key)}}
    await ws.send(json.dumps({"id": op, "type": "subscribe", "payload": payload}))


def bearer(user: int, *, admin: bool = False) -> str:
    return "Bearer " + token_for(user, admin=admin)


async def update(b: Served, key: int, status: str) -> None:
    async with httpx.AsyncClient(base_url=b.base, timeout=DEADLINE_S) as http:
        response = await http.post(
            "/graphql",
            json={"query": UPDATE, "variables": {"id": str(key), "s": status}},
            headers={"Authorization": bearer(ADMIN_ID, admin=True)},
        )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["updateOrderStatus"]["status"] == status, response.text


async def refusal(ws: ClientConnection) -> list[str]:
    """The error codes a refused subscription answers with (an error message, or a result with errors), then
    nothing more for that operation."""
    message = await receive(ws)
    if message["type"] == "error":
        errors = message["payload"]
    else:
        assert message["type"] == "next", message
        assert message["payload"]["data"] is None, message
        errors = message["payload"]["errors"]
        assert (await receive(ws))["type"] == "complete"
    return [error["extensions"]["code"] for error in errors]


async def test_a_change_made_through_one_process_reaches_subscribers_on_another(
    gateways: tuple[Served, Served],
    sources: Sources,
    settings: Settings,
    order_id: int,
    sockets: list[ClientConnection],
) -> None:
    a, b = gateways
    owner = await acked(sockets, a.ws, payload={"Authorization": bearer(OWNER)})  # token in connection_init
    admin = await acked(sockets, b.ws, header=bearer(ADMIN_ID, admin=True))  # token on the upgrade request
    await subscribe(owner, order_id)
    await subscribe(admin, order_id)

    async def both_listening() -> bool:
        return await listeners(sources, settings, order_id) == 2  # one connection per process

    assert await eventually(both_listening, timeout=DEADLINE_S)

    await update(b, order_id, "PAID")
    for ws in (owner, admin):
        message = await receive(ws)
        assert message["type"] == "next", message
        change = message["payload"]["data"]["orderStatusChanged"]
        assert (change["from"], change["to"]) == ("PENDING", "PAID")
        # Read after the change: the subscribe-time check had loaded the order as PENDING.
        assert change["order"]["status"] == "PAID"
        assert change["order"]["id"] == str(order_id)
        assert change["order"]["user"] == {"id": str(OWNER)}
        assert change["order"]["items"] == [{"quantity": 1, "product": {"id": str(PRODUCT_ID)}}]
        assert change["at"].endswith(("Z", "+00:00"))

    await update(b, order_id, "SHIPPED")
    message = await receive(owner)
    change = message["payload"]["data"]["orderStatusChanged"]
    assert (change["from"], change["to"]) == ("PAID", "SHIPPED")
    assert change["order"]["status"] == "SHIPPED"  # new loaders for this event: not the first event's PAID

    await owner.send(json.dumps({"id": "1", "type": "complete"}))
    await admin.close()

    async def none_listening() -> bool:
        return await listeners(sources, settings, order_id) == 0

    assert await eventually(none_listening, timeout=DEADLINE_S), "closing the subscriptions did not UNSUBSCRIBE"


async def test_who_may_subscribe(
    gateways: tuple[Served, Served], order_id: int, sockets: list[ClientConnection]
) -> None:
    a, _ = gateways
    stranger = await acked(sockets, a.ws, payload={"authorization": bearer(STRANGER)})
    await subscribe(stranger, order_id)
    assert await refusal(stranger) == ["FORBIDDEN"]

    guest = await acked(sockets, a.ws)
    await subscribe(guest, order_id, "existing")
    assert await refusal(guest) == ["UNAUTHENTICATED"]
    await subscribe(guest, 2_000_000_000, "missing")  # a guest learns nothing, not even whether it exists
    assert await refusal(guest) == ["UNAUTHENTICATED"]

    admin = await acked(sockets, a.ws, payload={"Authorization": bearer(ADMIN_ID, admin=True)})
    await subscribe(admin, 2_000_000_000)
    assert await refusal(admin) == ["NOT_FOUND"]


async def test_a_bad_token_closes_the_connection(
    gateways: tuple[Served, Served], sockets: list[ClientConnection]
) -> None:
    a, _ = gateways
    ws = await open_socket(sockets, a.ws, payload={"Authorization": "Bearer not-a-token"})
    with pytest.raises(ConnectionClosed) as closed:
        await receive(ws)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4403
