"""An app of its own for tests that need other settings than the session's (a small body limit, a store down)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest_asyncio
from redis.asyncio import Redis

from gateway.config import Settings
from gateway.http.app import create_app
from gateway.http.graphql_http import GraphQLHTTP


@asynccontextmanager
async def serve(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a fresh app with ``settings``, its lifespan (and store clients) open for the block."""
    async with serve_app(settings) as (http, _):
        yield http


@asynccontextmanager
async def serve_app(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, GraphQLHTTP]]:
    """As ``serve``, with the app's GraphQL-over-HTTP view (its caches)."""
    app = create_app(settings)
    async with app.router.lifespan_context(app) as state:

        async def with_state(scope, receive, send):  # type: ignore[no-untyped-def]
            scope["state"] = dict(state or {})
            await app(scope, receive, send)

        await settled(app.state.graphql_http)
        transport = httpx.ASGITransport(app=with_state)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
            yield http, app.state.graphql_http


async def settled(http: GraphQLHTTP) -> None:
    """Until the app follows the invalidation channel (memory may serve), or has failed to once (Redis down)."""
    if http.invalidations is not None:
        await asyncio.wait_for(http.invalidations.settled.wait(), 30)


@pytest_asyncio.fixture
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    """The test Redis (db 1), for checking what persisted queries stored; every ``gw:apq:`` key a test adds is
    deleted after it (never a flush)."""
    client = Redis.from_url(settings.redis_url)
    before = {k async for k in client.scan_iter(match="gw:apq:*")}
    yield client
    made = [k async for k in client.scan_iter(match="gw:apq:*") if k not in before]
    if made:
        await client.delete(*made)
    await client.aclose()
