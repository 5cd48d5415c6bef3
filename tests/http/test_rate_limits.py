"""Rate limits at their real defaults (the rest of the suite runs with them out of reach): a guest sending list
queries back to back is stopped with 429, Retry-After and RATE_LIMITED, also when answered from memory; other
clients are not; buckets are shared through Redis by every process; with Redis stopped each process limits alone."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from starlette.applications import Starlette

from gateway.auth import Viewer
from gateway.config import Settings
from gateway.http.app import create_app
from gateway.http.rate_limits import RateLimiter
from gateway.jobs.seeding import SeedReport
from gateway.observability.metrics import RATE_LIMIT_LOCAL
from gateway.stores import Sources
from gateway.stores.redis.rate_limits import Buckets, Charge
from tests.conftest import make_test_settings, token_for
from tests.services import services

LIST = "{ products(first: 50) { nodes { id title price } } }"  # costs 5 + 50 × 3 = 155
DEFAULTS = {name: field.default for name, field in Settings.model_fields.items() if name.startswith("rate_limit")}
MOST_REQUESTS = 200  # the guest's burst of 3,000 is 20 of these: stopped long before 200


@pytest.fixture(scope="module")
def limited_settings() -> Settings:
    return make_test_settings(**DEFAULTS)


@pytest_asyncio.fixture(scope="module")
async def limited(limited_settings: Settings, seeded: SeedReport) -> AsyncIterator[httpx.AsyncClient]:
    app: Starlette = create_app(limited_settings)
    async with app.router.lifespan_context(app) as state:
        await asyncio.wait_for(app.state.graphql_http.invalidations.settled.wait(), 30)  # memory may serve

        async def with_state(scope, receive, send):  # type: ignore[no-untyped-def]
            scope["state"] = dict(state)
            await app(scope, receive, send)

        transport = httpx.ASGITransport(app=with_state, client=("203.0.113.7", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
            http.app = app  # type: ignore[attr-defined]
            yield http


def guest(session: str) -> dict[str, str]:
    return {"X-Session-Id": session}


async def until_limited(client: httpx.AsyncClient, payload: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
    """Send ``payload`` back to back until one is refused; that answer (fails after MOST_REQUESTS)."""
    for _ in range(MOST_REQUESTS):
        response = await client.post("/graphql", json=payload, headers=headers)
        if response.status_code == 429:
            return response
        assert response.status_code == 200, response.text
        await asyncio.sleep(0)  # the charges go to Redis in the background, between requests
    raise AssertionError(f"{MOST_REQUESTS} requests of cost 155 and never limited")


def assert_rate_limited(response: httpx.Response) -> None:
    body = response.json()
    assert response.status_code == 429
    retry_after = int(response.headers["Retry-After"])
    assert retry_after >= 1
    assert "data" not in body
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert error["extensions"]["retryAfter"] == retry_after
    assert response.headers["X-Request-Id"]


async def test_a_guest_sending_list_queries_back_to_back_is_stopped(limited: httpx.AsyncClient) -> None:
    session = f"rl-guest-{time.time_ns()}"
    refused = await until_limited(limited, {"query": LIST}, guest(session))
    assert_rate_limited(refused)
    assert refused.json()["errors"][0]["extensions"]["limit"] == "guest"
    # Still refused while the debt lasts: nothing ran, so nothing more is charged.
    again = await limited.post("/graphql", json={"query": LIST}, headers=guest(session))
    assert again.status_code == 429
    # Another guest behind the same address, and a signed-in user, are not held back by this guest's bucket.
    other = await limited.post("/graphql", json={"query": LIST}, headers=guest(f"rl-other-{time.time_ns()}"))
    assert other.status_code == 200, other.text
    user = await limited.post("/graphql", json={"query": LIST}, headers={"Authorization": "Bearer " + token_for(7)})
    assert user.status_code == 200, user.text


async def test_answers_from_memory_are_charged_the_query_cost(limited: httpx.AsyncClient) -> None:
    """The hot path (a persisted query answered from this process's memory) is limited like any other answer."""
    query = "query RateLimitedList { products(first: 50) { nodes { id title } } }"
    digest = hashlib.sha256(query.encode()).hexdigest()
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    session = f"rl-memory-{time.time_ns()}"
    first = await limited.post("/graphql", json={"query": query, "extensions": extensions}, headers=guest(session))
    assert first.status_code == 200, first.text
    outcomes = set()
    for _ in range(MOST_REQUESTS):
        response = await limited.post("/graphql", json={"extensions": extensions}, headers=guest(session))
        if response.status_code == 429:
            assert_rate_limited(response)
            break
        outcomes.add(response.headers.get("X-Gateway-Cache"))
        await asyncio.sleep(0)
    else:
        raise AssertionError("answers from the caches were never limited")
    assert "hit-local" in outcomes  # the requests counted were served from memory


async def test_the_address_bucket_stops_a_guest_minting_session_ids(limited_settings: Settings) -> None:
    limiter = RateLimiter(limited_settings)
    address_burst = limited_settings.rate_limit_address_burst
    for n in range(address_burst // 155 + 1):  # a fresh session for every request, all from one address
        buckets = limiter.buckets(None, f"minted-session-{n:04d}", "198.51.100.9")
        assert limiter.refused(buckets, time.monotonic()) is None
        limiter.charge(buckets, 155)
    refused = limiter.refused(limiter.buckets(None, "minted-session-new", "198.51.100.9"), time.monotonic())
    assert refused is not None
    assert refused[1] == "address"


async def test_processes_share_a_bucket_through_redis(limited_settings: Settings, sources: Sources) -> None:
    """Two limiters (two processes): what one charged refuses the other once its own charge has been answered."""
    first, second = RateLimiter(limited_settings), RateLimiter(limited_settings)
    store = Buckets(sources.redis)
    viewer = Viewer(user_id=10**6 + time.time_ns() % 10**6, roles=frozenset())
    buckets = first.buckets(viewer, None, None)
    first.charge(buckets, limited_settings.rate_limit_user_burst + 5_000)
    await first.flush(store)
    assert first.refused(buckets, time.monotonic()) is not None
    assert second.refused(buckets, time.monotonic()) is None  # it has not heard from Redis about this bucket yet
    second.charge(buckets, 1)
    await second.flush(store)
    refused = second.refused(buckets, time.monotonic())
    assert refused is not None
    seconds, role = refused
    assert role == "user"
    assert seconds >= 5_000 // limited_settings.rate_limit_user_per_s  # the debt, at the user's refill rate


async def test_the_script_refills_and_caps_the_debt(sources: Sources) -> None:
    store = Buckets(sources.redis)
    key = f"gw:test:rl:script:{time.time_ns()}"
    (left,) = await store.charge([Charge(key, 100, 0.001, 60)])
    assert left == 40
    (left,) = await store.charge([Charge(key, 100, 0.001, 1_000)])
    assert left == -100  # a debt never deeper than the burst
    ttl = await sources.redis.client.pttl(key)
    assert ttl > 0  # expires once full again: idle clients cost nothing
    fast = f"{key}:fast"
    (left,) = await store.charge([Charge(fast, 100, 1_000_000, 100)])
    assert left == 0
    await asyncio.sleep(0.01)
    (left,) = await store.charge([Charge(fast, 100, 1_000_000, 1)])
    assert left == 99  # refilled to the burst, no further


@pytest.mark.services
async def test_with_redis_stopped_each_process_limits_alone(limited_settings: Settings) -> None:
    """Redis down: the charges are applied to this process's own buckets, the guest is still stopped, and
    gateway_rate_limit_local_total counts them."""
    app: Starlette = create_app(limited_settings)
    before = RATE_LIMIT_LOCAL._value.get()
    async with app.router.lifespan_context(app) as state:

        async def with_state(scope, receive, send):  # type: ignore[no-untyped-def]
            scope["state"] = dict(state)
            await app(scope, receive, send)

        transport = httpx.ASGITransport(app=with_state, client=("203.0.113.8", 50000))
        services("stop", "redis")
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
                refused = await until_limited(http, {"query": LIST}, guest(f"rl-down-{time.time_ns()}"))
                assert_rate_limited(refused)
        finally:
            services("start", "redis")
    assert RATE_LIMIT_LOCAL._value.get() > before
