"""`gateway serve` in production shape: several worker processes, and a graceful shutdown.

The request in flight is a real one held up deterministically: the test locks the order's row in MySQL
(SELECT … FOR UPDATE in a transaction of its own), so updateOrderStatus waits for it while the gateway is told to
stop; the test lets go only once the server has stopped accepting connections.
"""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, text

from gateway.stores import Sources
from gateway.stores.mysql import tables as t
from tests.conftest import ADMIN_ID, eventually, token_for
from tests.serving import GATEWAY, Served, new_order
from tests.writes.conftest import stocked  # noqa: F401  (a fixture of the write tests: products in stock)

DRAIN_S = 3
UPDATE = "mutation ($id: ID!) { updateOrderStatus(id: $id, status: PAID) { id status } }"


async def refused(base: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=2) as http:
            await http.get(f"{base}/health")
    except httpx.ConnectError:
        return True
    return False


@pytest.mark.usefixtures("stocked")
async def test_sigterm_drains_then_finishes_the_request_in_flight_and_closes_the_stores(
    client: httpx.AsyncClient, sources: Sources, tmp_path: Path
) -> None:
    served = Served(
        tmp_path / "serve.log",
        GATEWAY_SHUTDOWN_DRAIN_S=str(DRAIN_S),
        GATEWAY_SHUTDOWN_TIMEOUT_S="60",
        GATEWAY_WRITE_TIMEOUT_S="60",  # the mutation waits on the test's lock for a few seconds
        GATEWAY_REQUEST_TIMEOUT_S="60",
    )
    http = httpx.AsyncClient(base_url=served.base, timeout=60)
    try:
        order_id = await new_order(client, 7)
        async with sources.mysql.engine.connect() as lock:
            await lock.begin()
            await lock.execute(select(t.orders.c.id).where(t.orders.c.id == order_id).with_for_update())
            mutation = asyncio.create_task(
                http.post(
                    "/graphql",
                    json={"query": UPDATE, "variables": {"id": str(order_id)}},
                    headers={"Authorization": "Bearer " + token_for(ADMIN_ID, admin=True)},
                )
            )

            seen: list[str] = []  # what the gateway's connections run (for the failure message)

            async def waiting_for_the_lock() -> bool:
                """The gateway's connection runs the order's SELECT … FOR UPDATE: it can only be waiting for us.
                (PROCESSLIST shows the same MySQL user's threads without the PROCESS privilege.)"""
                async with sources.mysql.engine.connect() as conn:
                    rows = await conn.execute(
                        text(
                            "SELECT info FROM information_schema.processlist"
                            " WHERE id <> CONNECTION_ID() AND info LIKE '%FOR UPDATE%'"
                        )
                    )
                    seen[:] = [row[0] for row in rows]
                    return any(re.search(rf"\b{order_id}\b", info or "") for info in seen)

            assert await eventually(waiting_for_the_lock, timeout=30), (
                "the mutation never reached the row lock",
                seen,
                mutation.done() and mutation.result().text,
            )

            served.proc.send_signal(signal.SIGTERM)

            async def draining() -> httpx.Response | None:
                response = await http.get("/ready")
                return response if response.status_code == 503 else None

            ready = await eventually(draining, timeout=DRAIN_S, interval=0.05)
            assert ready is not None, "/ready did not turn 503 on SIGTERM"
            assert ready.json() == {"status": "draining", "draining": True}
            served_meanwhile = await http.post("/graphql", json={"query": "{ __typename }"})
            assert served_meanwhile.status_code == 200  # still serving while draining
            assert await eventually(lambda: refused(served.base), timeout=DRAIN_S + 30, interval=0.1)

            async def waiting_for_us() -> bool:  # uvicorn looks for open connections 0.1 s after it stops listening
                return "Waiting for connections to close" in served.output()

            assert await eventually(waiting_for_us, timeout=10, interval=0.05), served.output()
            assert served.proc.poll() is None  # not accepting, still waiting for the request in flight
            assert not mutation.done()
            await lock.rollback()  # let the mutation have its row

        response = await mutation
        assert response.status_code == 200, response.text
        assert response.json()["data"]["updateOrderStatus"] == {"id": str(order_id), "status": "PAID"}
        status = served.stop()
    finally:
        await http.aclose()
        if served.proc.poll() is None:
            served.stop()
    output = served.output()
    assert status in (0, -signal.SIGTERM), output
    assert "draining: /ready answers 503 for 3s" in output
    assert "Waiting for connections to close" in output, output
    assert "store clients closed" in output, output
    assert output.index("Waiting for connections to close") < output.index("store clients closed"), output


async def test_workers_answer_from_several_processes(tmp_path: Path) -> None:
    served = Served(tmp_path / "serve.log", "--workers", "2")
    try:
        started = set(re.findall(r"gateway process (\d+) started", served.output()))

        async def two_workers_answered() -> set[str]:
            for _ in range(20):
                async with httpx.AsyncClient(timeout=10) as http:  # a new connection each time
                    assert (await http.get(f"{served.base}/health")).status_code == 200
            pids = set(re.findall(r"\[(\d+)\] 127\.0\.0\.1:\d+ - \"GET /health", served.output()))
            return pids if len(pids) == 2 else set()

        async def both_started() -> bool:
            started.update(re.findall(r"gateway process (\d+) started", served.output()))
            return len(started) == 2

        assert await eventually(both_started, timeout=30), served.output()
        answered = await eventually(two_workers_answered, timeout=60, interval=0)
        assert answered == started, served.output()
    finally:
        status = served.stop()
    output = served.output()
    assert status in (0, -signal.SIGTERM), output
    closed = set(re.findall(r"gateway process (\d+): store clients closed", output))
    assert closed == started, output  # each worker ran its lifespan's exit


def test_reload_and_workers_are_refused_together() -> None:
    done = subprocess.run([GATEWAY, "serve", "--reload", "--workers", "2"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "--reload runs one process" in done.stderr
