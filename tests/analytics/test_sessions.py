"""Sessions in Redis (``session:{id}``): touched by every request that carries the id (written in the background),
a sliding TTL, linked to the user at sign-in (mergeGuestCart), read by ``Query.session``."""

from __future__ import annotations

import uuid
from datetime import datetime

import httpx
from redis.asyncio import Redis
from starlette.applications import Starlette

from gateway.config import Settings
from gateway.jobs.seeding import SeedReport
from tests.conftest import gql

SESSION = "query CurrentSession { session { id device createdAt lastActivityAt expiresAt user { id name } } }"
ADD = "mutation ($id: ID!) { addToCart(productId: $id, quantity: 1) { totalQuantity } }"
MERGE = "mutation { mergeGuestCart { totalQuantity } }"


def new_session() -> str:
    return "sess-" + uuid.uuid4().hex


async def test_no_session_id_no_session(client: httpx.AsyncClient) -> None:
    assert await gql(client, SESSION) == {"data": {"session": None}}


async def test_a_session_is_created_by_its_first_request_and_slides(
    client: httpx.AsyncClient, app: Starlette, settings: Settings, seeded: SeedReport
) -> None:
    session = new_session()
    headers = {"X-Session-Id": session, "X-Device": "ios"}
    first = (await gql(client, SESSION, headers=headers))["data"]["session"]
    assert first["id"] == session
    assert (first["device"], first["user"]) == ("ios", None)
    created = datetime.fromisoformat(first["createdAt"])
    last = datetime.fromisoformat(first["lastActivityAt"])
    assert created <= last
    assert (datetime.fromisoformat(first["expiresAt"]) - last).total_seconds() == settings.session_ttl_s
    redis = Redis.from_url(settings.redis_url)
    try:
        ttl = await redis.ttl(f"session:{session}")
        assert 0 < ttl <= settings.session_ttl_s
        await redis.expire(f"session:{session}", 100)  # a later request slides it back to the full TTL
        await gql(client, '{ product(id: "1") { id } }', headers=headers)
        assert await app.state.lifespan_state["sources"].redis.sessions.flush()
        assert await redis.ttl(f"session:{session}") > 100
        second = (await gql(client, SESSION, headers=headers))["data"]["session"]
        assert second["createdAt"] == first["createdAt"]
        assert datetime.fromisoformat(second["lastActivityAt"]) >= last
        await redis.delete(f"session:{session}")  # expired: gone, until its next request
    finally:
        await redis.aclose()


async def test_sign_in_links_the_session_to_the_user(
    client: httpx.AsyncClient, settings: Settings, seeded: SeedReport
) -> None:
    session = new_session()
    guest = {"X-Session-Id": session}
    await gql(client, ADD, {"id": "50"}, headers=guest)
    merged = await gql(client, MERGE, user=11, headers=guest)
    assert "errors" not in merged, merged
    mine = (await gql(client, SESSION, user=11, headers=guest))["data"]["session"]
    assert mine["user"] == {"id": "11", "name": mine["user"]["name"]}
    other = await gql(client, SESSION, user=12, headers=guest)  # someone else holding the id sees no user
    assert other["data"]["session"]["user"] is None
    assert other["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    admin = await gql(client, SESSION, admin=True, headers=guest)
    assert admin["data"]["session"]["user"]["id"] == "11"
    redis = Redis.from_url(settings.redis_url)
    try:
        assert await redis.hget(f"session:{session}", "user_id") == b"11"
        await redis.delete(f"session:{session}", "cart:11")
    finally:
        await redis.aclose()
