"""Fixtures: real servers (started by scripts/setup), a test database per store, the app driven through httpx."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.config import Settings
from gateway.errors import SourceError
from gateway.sources import Sources
from gateway.sources.mysql import create_database_if_missing


def make_test_settings(**overrides: object) -> Settings:
    """The developer servers, but the test suite's own MySQL database, Mongo database and Redis db."""
    base = Settings()
    values: dict[str, object] = {
        "mysql_url": base.mysql_url.rsplit("/", 1)[0] + "/gateway_test",
        "mongo_database": "gateway_test",
        "redis_url": base.redis_url.rsplit("/", 1)[0] + "/1",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


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
