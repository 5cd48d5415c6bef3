"""`gateway serve` as a real process for tests: the test settings, a free port, its output in a file."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import UNLIMITED, gql, make_test_settings
from tests.writes.conftest import PRODUCT_ID

GATEWAY = str(Path(sys.executable).with_name("gateway"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(
    base: str,
    proc: subprocess.Popen[Any],
    *,
    within_s: float,
    interval_s: float,
    output: Callable[[], str] | None = None,
) -> None:
    """Until ``base``/health answers 200; fails when ``proc`` exits first or ``within_s`` pass. ``output``: the
    process's log so far, shown in both failures; without it, what the process wrote to its stdout pipe is shown
    when it has exited (a pipe cannot be read while it runs)."""
    deadline = time.monotonic() + within_s
    while True:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert proc.poll() is None, output() if output else proc.stdout.read() if proc.stdout else ""
        late = f"gateway serve did not answer /health within {within_s:g}s"
        assert time.monotonic() < deadline, late + (f":\n{output()}" if output else "")
        time.sleep(interval_s)


CREATE = """
mutation ($items: [OrderLineInput!]!, $key: String!) {
  createOrder(input: {items: $items}, idempotencyKey: $key) { id }
}
"""


async def new_order(client: httpx.AsyncClient, user: int) -> int:
    """A new order of ``user``'s for one unit of the write tests' product (the ``stocked`` fixture); its id."""
    items = [{"productId": str(PRODUCT_ID), "quantity": 1}]
    body = await gql(client, CREATE, {"items": items, "key": uuid.uuid4().hex}, user=user)
    assert body.get("data"), body
    return int(body["data"]["createOrder"]["id"])


class Served:
    """One `gateway serve` process on the test databases; ``output()`` is everything it has logged so far."""

    def __init__(self, log: Path, *args: str, **env: str) -> None:
        settings = make_test_settings()
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.ws = f"ws://127.0.0.1:{self.port}/graphql"
        self.log = log
        environment = {
            **os.environ,
            "GATEWAY_PORT": str(self.port),
            "GATEWAY_MYSQL_URL": settings.mysql_url,
            "GATEWAY_MONGO_DATABASE": settings.mongo_database,
            "GATEWAY_REDIS_URL": settings.redis_url,
            "GATEWAY_GRAPHIQL": "false",
            **{f"GATEWAY_{name.upper()}": str(value) for name, value in UNLIMITED.items()},
            **env,
        }
        with log.open("wb") as out:
            self.proc = subprocess.Popen([GATEWAY, "serve", *args], env=environment, stdout=out, stderr=out)
        wait_healthy(self.base, self.proc, within_s=60, interval_s=0.1, output=self.output)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> int:
        """SIGTERM, then wait for the exit; the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise
