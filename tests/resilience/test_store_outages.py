"""Each store stopped, then each store hung (SIGSTOP), while queries run: partial data, never a 5xx.

One query reads all four stores: the product (MySQL row), its rating (MongoDB metrics), what is bought with it
(Neo4j) and a guest's cart (Redis). With one store out, exactly the fields that need it are null with an error
naming it; the rest resolves. Queries keep coming until the store's circuit breaker opens; from then on its
fields fail at once, without a call to the store (explain shows none). Back up, the breaker lets a probe through,
closes, and the whole answer returns.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from gateway.config import Settings
from gateway.jobs.seeding import SeedReport
from gateway.stores import Sources, breaker
from loaders.cached import invalidate
from tests.conftest import eventually
from tests.services import paused, services

QUERY = '{ product(id: "50") { title rating { count } boughtTogether(limit: 3) { id } } cart { totalQuantity } }'
GUEST = {"X-Session-Id": "resilience-guest-0001"}
# The fields each store serves in QUERY (a product without its MySQL row is no product at all).
NEEDS = {
    "mysql": [["product"]],
    "mongodb": [["product", "rating"]],
    "neo4j": [["product", "boughtTogether"]],
    "redis": [["cart"]],
}


async def ask(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.post(
        "/graphql", json={"query": QUERY, "extensions": {"explain": True}}, headers=GUEST, timeout=30
    )
    body: dict[str, Any] = response.json()
    assert response.status_code == 200, body  # a store out is never a 5xx
    return body


def whole(body: dict[str, Any]) -> bool:
    product = body["data"]["product"]
    return (
        "errors" not in body
        and product["title"] == "Star Wars"
        and product["rating"]["count"] == 583
        and bool(product["boughtTogether"])
        and body["data"]["cart"] == {"totalQuantity": 0}
    )


def assert_partial(body: dict[str, Any], name: str, codes: set[str]) -> None:
    """Exactly ``name``'s fields are null, each with an error naming it; everything else resolved."""
    errors = body["errors"]
    assert sorted(e["path"] for e in errors) == NEEDS[name], errors
    for error in errors:
        assert error["extensions"]["source"] == name, error
        assert error["extensions"]["code"] in codes, error
    data = body["data"]
    for path in NEEDS[name]:
        parent = data
        for step in path[:-1]:
            parent = parent[step]
        assert parent[path[-1]] is None
    if name != "mysql":
        product = data["product"]
        assert product["title"] == "Star Wars"
        if name != "mongodb":
            assert product["rating"]["count"] == 583
        if name != "neo4j":
            assert product["boughtTogether"]
    if name != "redis":
        assert data["cart"] == {"totalQuantity": 0}


@contextmanager
def cool_down(settings: Settings, seconds: float) -> Iterator[None]:
    """Breakers stay open this long in the block (the checks of an open breaker need it open), the configured
    cool-down after it (so recovery is as fast as configured)."""
    breaker.configure(failures=settings.breaker_failures, reset_s=seconds)
    try:
        yield
    finally:
        breaker.configure(failures=settings.breaker_failures, reset_s=settings.breaker_reset_s)


@contextmanager
def stopped(name: str) -> Iterator[None]:
    services("stop", name)
    try:
        yield
    finally:
        services("start", name)


@contextmanager
def hung(name: str) -> Iterator[None]:
    with paused(name):
        yield


OUTAGES = {"stopped": (stopped, {"SOURCE_UNAVAILABLE"}), "hung": (hung, {"TIMEOUT"})}


@pytest.mark.services
@pytest.mark.parametrize("how", ["stopped", "hung"])
@pytest.mark.parametrize("name", ["mysql", "mongodb", "neo4j", "redis"])
async def test_store_out_gives_partial_data_then_the_breaker_opens_and_closes(
    client: httpx.AsyncClient, sources: Sources, settings: Settings, seeded: SeedReport, name: str, how: str
) -> None:
    gate = sources.by_name(name).breaker  # the app's clients share it: same server, same process
    assert gate.state == "closed"
    assert await eventually(lambda: _whole(client), timeout=30)  # the product's merged entity is cached now
    await invalidate(sources, settings, [("product", 50)])  # so MySQL and MongoDB are really asked
    outage, first_codes = OUTAGES[how]
    with cool_down(settings, 60), outage(name):
        first = await ask(client)
        assert_partial(first, name, first_codes)
        assert gate.state == "closed"  # one request's failures are not enough to open it

        async def burst() -> bool:  # concurrent requests, as under load, until the breaker has seen enough
            for body in await asyncio.gather(*(ask(client) for _ in range(3))):
                assert_partial(body, name, {"SOURCE_UNAVAILABLE", "TIMEOUT"})
            return gate.state == "open"

        assert await eventually(burst, timeout=30, interval=0)

        refused = await ask(client)
        assert_partial(refused, name, {"SOURCE_UNAVAILABLE"})
        assert all(e["extensions"]["breaker"] == "open" for e in refused["errors"])
        assert all(e["message"] == f"{name} is unavailable (circuit breaker open)" for e in refused["errors"])
        explain = refused["extensions"]["explain"]
        assert name not in explain["sources"]  # not one call reached the store
        assert explain["refusedByBreaker"][name] >= 1
        ready = await client.get("/ready")  # its ping is refused too, within the cool-down
        assert ready.status_code == 503
        assert ready.json()["sources"][name] | {"latencyMs": 0} == {
            "up": False,
            "latencyMs": 0,
            "code": "SOURCE_UNAVAILABLE",
            "error": f"{name} is unavailable (circuit breaker open)",
            "breaker": "open",
        }
        assert gate.state == "open"

    async def recovered() -> bool:  # the cool-down passes, a probe goes through, the breaker closes
        return await _whole(client) and gate.state == "closed"

    assert await eventually(recovered, timeout=90)
    assert {s.name: s.breaker.state for s in sources.all()} == dict.fromkeys(
        ("mysql", "mongodb", "neo4j", "redis"), "closed"
    )
    response = await client.get("/ready")
    assert response.status_code == 200
    assert response.json()["sources"][name]["breaker"] == "closed"


async def _whole(client: httpx.AsyncClient) -> bool:
    return whole(await ask(client))
