"""Automatic Persisted Queries (gateway/http/persisted.py), Apollo's protocol, over GET and POST, against Redis db 1.

Every document carries a fresh uuid in a comment, so its sha256 is new to Redis; the keys are deleted afterwards.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest
from redis.asyncio import Redis

from gateway.config import Settings
from gateway.http.media import GRAPHQL_RESPONSE, JSON
from gateway.stores.redis.persisted import key
from tests.conftest import eventually
from tests.http.conftest import serve

NEW = {"Accept": GRAPHQL_RESPONSE}
OLD = {"Accept": JSON}
NOT_FOUND = {"errors": [{"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}]}
TWO_OPERATIONS = "query A { __typename } query B($x: Boolean!) { b: backends @include(if: $x) { redis { server } } }"
Send = Callable[..., Any]


def sha256(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


def fresh(document: str) -> str:
    """``document`` with a comment no other test or run has used (a new sha256)."""
    return f"# {uuid.uuid4()}\n{document}"


def apq(digest: str, version: object = 1) -> dict[str, Any]:
    return {"persistedQuery": {"version": version, "sha256Hash": digest}}


async def send(
    client: httpx.AsyncClient,
    method: str,
    *,
    query: str | None = None,
    extensions: dict[str, Any] | None = None,
    variables: dict[str, Any] | None = None,
    operation_name: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """One GraphQL request over GET (JSON-valued parameters as text) or POST (a JSON body)."""
    fields: dict[str, Any] = {"query": query, "extensions": extensions, "variables": variables}
    fields["operationName"] = operation_name
    present = {name: value for name, value in fields.items() if value is not None}
    if method == "POST":
        return await client.post("/graphql", json=present, headers=headers or {})
    params = {name: orjson.dumps(v).decode() if isinstance(v, dict) else v for name, v in present.items()}
    return await client.get("/graphql", params=params, headers=headers or {})


METHODS = pytest.mark.parametrize("method", ["GET", "POST"])


# --- a hash nobody registered -------------------------------------------------------------------------------


@METHODS
@pytest.mark.parametrize("accept", [NEW, OLD])
async def test_unknown_hash_is_persisted_query_not_found_200_no_cache(
    client: httpx.AsyncClient, redis: Redis, method: str, accept: dict[str, str]
) -> None:
    digest = sha256(fresh("{ __typename }"))
    response = await send(client, method, extensions=apq(digest), headers=accept)
    assert response.status_code == 200, response.text
    assert response.json() == NOT_FOUND
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["content-type"] == f"{accept['Accept']}; charset=utf-8"
    assert await redis.exists(key(digest)) == 0


# --- registration, then the hash alone ----------------------------------------------------------------------


@pytest.mark.parametrize("register_with", ["GET", "POST"])
async def test_register_then_hash_only_runs_over_get_and_post(
    client: httpx.AsyncClient, redis: Redis, settings: Settings, register_with: str
) -> None:
    document = fresh(TWO_OPERATIONS)
    digest = sha256(document)
    variables, name = {"x": True}, "B"
    expected = {"data": {"b": {"redis": {"server": "Redis"}}}}

    registered = await send(
        client, register_with, query=document, extensions=apq(digest), variables=variables, operation_name=name
    )
    assert registered.status_code == 200, registered.text
    assert registered.json() == expected
    assert (await redis.get(key(digest))) == document.encode()
    ttl_ms = await redis.pttl(key(digest))
    assert settings.persisted_query_ttl_s * 1000 - 60_000 < ttl_ms <= settings.persisted_query_ttl_s * 1000

    for method in ("GET", "POST"):
        for accept in (NEW, OLD):
            response = await send(
                client, method, extensions=apq(digest), variables=variables, operation_name=name, headers=accept
            )
            assert response.status_code == 200, (method, response.text)
            assert response.json() == expected, method
    # the other operation of the same document, by the same hash
    other = await send(client, "GET", extensions=apq(digest), operation_name="A")
    assert other.json() == {"data": {"__typename": "Query"}}


async def test_a_hash_is_case_insensitive(client: httpx.AsyncClient, redis: Redis) -> None:
    document = fresh("{ __typename }")
    digest = sha256(document)
    assert (await send(client, "POST", query=document, extensions=apq(digest.upper()))).status_code == 200
    assert await redis.exists(key(digest)) == 1
    response = await send(client, "GET", extensions=apq(digest.upper()))
    assert response.json() == {"data": {"__typename": "Query"}}


async def test_use_resets_the_ttl(redis: Redis, settings: Settings) -> None:
    document = fresh("{ __typename }")
    digest = sha256(document)
    async with serve(settings.model_copy(update={"memory_cache": False})) as client:  # every hash read from Redis
        await send(client, "POST", query=document, extensions=apq(digest))
        await redis.pexpire(key(digest), 90_000)  # as if most of its life had gone by
        assert await redis.pttl(key(digest)) <= 90_000
        response = await send(client, "GET", extensions=apq(digest))
        assert response.json() == {"data": {"__typename": "Query"}}
        assert await redis.pttl(key(digest)) > settings.persisted_query_ttl_s * 1000 - 60_000


async def test_a_use_found_in_memory_resets_the_ttl_at_most_once_per_period(redis: Redis, settings: Settings) -> None:
    """A document held in memory costs no round trip: its TTL in Redis is reset in the background, once the last
    reset is older than a thirtieth of the TTL (2 s for a 60 s TTL), and put back if Redis lost it."""
    document = fresh("{ __typename }")
    digest = sha256(document)
    async with serve(settings.model_copy(update={"persisted_query_ttl_s": 60})) as client:
        await send(client, "POST", query=document, extensions=apq(digest))
        await redis.pexpire(key(digest), 30_000)
        response = await send(client, "GET", extensions={**apq(digest), "explain": True})
        assert response.json()["extensions"]["explain"]["persistedDocument"] == "memory"
        assert "redis" not in response.json()["extensions"]["explain"]["sources"]
        assert await redis.pttl(key(digest)) <= 30_000  # reset 0 s ago: not yet
        await asyncio.sleep(2.1)
        await send(client, "GET", extensions=apq(digest))

        async def reset() -> bool:
            return bool(await redis.pttl(key(digest)) > 50_000)

        assert await eventually(reset, timeout=10, interval=0.05)
        await redis.delete(key(digest))  # Redis lost it (a flush, a restart)
        await asyncio.sleep(2.1)
        again = await send(client, "GET", extensions=apq(digest))
        assert again.json()["data"] == {"__typename": "Query"}  # memory still has it

        async def put_back() -> bool:
            return bool(await redis.get(key(digest)) == document.encode())

        assert await eventually(put_back, timeout=10, interval=0.05)


async def test_registering_again_keeps_the_document_and_resets_the_ttl(
    client: httpx.AsyncClient, redis: Redis, settings: Settings
) -> None:
    document = fresh("{ __typename }")
    digest = sha256(document)
    await send(client, "POST", query=document, extensions=apq(digest))
    await redis.pexpire(key(digest), 90_000)
    again = await send(client, "GET", query=document, extensions=apq(digest))
    assert again.json() == {"data": {"__typename": "Query"}}
    assert (await redis.get(key(digest))) == document.encode()
    assert await redis.pttl(key(digest)) > settings.persisted_query_ttl_s * 1000 - 60_000


async def test_the_ttl_is_a_setting(settings: Settings, redis: Redis) -> None:
    document = fresh("{ __typename }")
    digest = sha256(document)
    async with serve(settings.model_copy(update={"persisted_query_ttl_s": 120})) as client:
        response = await send(client, "POST", query=document, extensions=apq(digest))
        assert response.status_code == 200, response.text
    assert 110_000 < await redis.pttl(key(digest)) <= 120_000


async def test_a_hash_hit_in_memory_is_no_round_trip_and_one_from_redis(
    client: httpx.AsyncClient, redis: Redis, settings: Settings
) -> None:
    document = fresh("{ __typename }")
    digest = sha256(document)
    await send(client, "POST", query=document, extensions=apq(digest))
    response = await send(client, "POST", extensions={**apq(digest), "explain": True})
    explain = response.json()["extensions"]["explain"]
    # The document and its result (stored by the first request) both in this process's memory.
    assert (explain["sources"], explain["persistedDocument"]) == ({}, "memory")
    assert response.headers["x-gateway-cache"] == "hit-local"
    async with serve(settings.model_copy(update={"memory_cache": False})) as other:
        response = await send(other, "POST", extensions={**apq(digest), "explain": True})
    explain = response.json()["extensions"]["explain"]
    calls = explain["sources"]["redis"]["calls"]
    # The document by its hash, then the response cache's lookup of its result.
    assert [call["operation"] for call in calls] == ["apq_get", "lookup response"]
    assert calls[0]["keys"] == [digest]
    assert explain["persistedDocument"] == "redis"
    assert response.headers["x-gateway-cache"] == "hit"


# --- refusals: nothing is stored ----------------------------------------------------------------------------


@METHODS
@pytest.mark.parametrize("accept", [NEW, OLD])
async def test_a_hash_that_is_not_the_query_s_is_400_and_stores_nothing(
    client: httpx.AsyncClient, redis: Redis, method: str, accept: dict[str, str]
) -> None:
    document = fresh("{ __typename }")
    wrong = sha256(document + " ")
    response = await send(client, method, query=document, extensions=apq(wrong), headers=accept)
    assert response.status_code == 400, response.text
    assert response.json() == {
        "errors": [{"message": "provided sha does not match query", "extensions": {"code": "BAD_REQUEST"}}]
    }
    assert await redis.exists(key(wrong)) == 0
    assert await redis.exists(key(sha256(document))) == 0
    assert (await send(client, method, extensions=apq(wrong))).json() == NOT_FOUND


@METHODS
@pytest.mark.parametrize("version", [2, 0, "1", None, True])
async def test_a_version_other_than_1_is_400_not_supported(
    client: httpx.AsyncClient, redis: Redis, method: str, version: object
) -> None:
    document = fresh("{ __typename }")
    digest = sha256(document)
    response = await send(client, method, query=document, extensions=apq(digest, version))
    assert response.status_code == 400, response.text
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "PERSISTED_QUERY_NOT_SUPPORTED"
    assert "version" in error["message"]
    assert await redis.exists(key(digest)) == 0


@METHODS
@pytest.mark.parametrize(
    ("persisted", "message"),
    [
        ("abc", "`extensions.persistedQuery` must be a JSON object"),
        ({"version": 1}, "must be 64 hex digits"),
        ({"version": 1, "sha256Hash": "abc"}, "must be 64 hex digits"),
        ({"version": 1, "sha256Hash": "g" * 64}, "must be 64 hex digits"),
        ({"version": 1, "sha256Hash": 7}, "must be 64 hex digits"),
    ],
)
async def test_a_malformed_persisted_query_is_400_bad_request(
    client: httpx.AsyncClient, method: str, persisted: object, message: str
) -> None:
    response = await send(client, method, extensions={"persistedQuery": persisted})
    assert response.status_code == 400, response.text
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert message in error["message"]


@METHODS
@pytest.mark.parametrize(
    ("document", "code"),
    [
        ("{ __typename ", "GRAPHQL_PARSE_FAILED"),
        ("{ noSuchField }", "GRAPHQL_VALIDATION_FAILED"),
        ("{ " + " ".join(f"a{i}: __typename" for i in range(40)) + " }", "QUERY_TOO_COMPLEX"),
    ],
)
async def test_a_document_that_would_not_run_is_not_registered(
    client: httpx.AsyncClient, redis: Redis, method: str, document: str, code: str
) -> None:
    document = fresh(document)
    digest = sha256(document)
    response = await send(client, method, query=document, extensions=apq(digest), headers=NEW)
    assert response.status_code == 400, response.text
    assert [error["extensions"]["code"] for error in response.json()["errors"]] == [code]
    assert await redis.exists(key(digest)) == 0
    assert (await send(client, method, extensions=apq(digest))).json() == NOT_FOUND


async def test_a_mutation_by_hash_runs_over_post_and_is_405_over_get(client: httpx.AsyncClient, redis: Redis) -> None:
    document = fresh("mutation Drop($id: ID!) { removeFromCart(productId: $id) { totalQuantity } }")
    digest = sha256(document)
    guest = {"X-Session-Id": f"apq-{uuid.uuid4().hex}"}
    registered = await send(
        client, "POST", query=document, extensions=apq(digest), variables={"id": "1"}, headers=guest
    )
    assert registered.status_code == 200, registered.text
    assert registered.json() == {"data": {"removeFromCart": {"totalQuantity": 0}}}
    by_post = await send(client, "POST", extensions=apq(digest), variables={"id": "1"}, headers=guest)
    assert by_post.json() == {"data": {"removeFromCart": {"totalQuantity": 0}}}
    by_get = await send(client, "GET", extensions=apq(digest), variables={"id": "1"}, headers=guest)
    assert by_get.status_code == 405, by_get.text
    assert by_get.headers["allow"] == "POST"
    assert by_get.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_without_query_hash_or_doc_id_the_request_is_still_malformed(client: httpx.AsyncClient) -> None:
    for response in (
        await client.post("/graphql", json={"extensions": {"explain": True}}),
        await client.get("/graphql", params={"extensions": '{"explain": true}'}),
    ):
        assert response.status_code == 400, response.text
        assert "no GraphQL query" in response.json()["errors"][0]["message"]


# --- Redis down ---------------------------------------------------------------------------------------------


@METHODS
async def test_redis_down_hash_only_is_503_and_a_full_query_still_runs(settings: Settings, method: str) -> None:
    down = settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/1", "source_timeout_s": 0.5})
    document = fresh("{ __typename }")
    digest = sha256(document)
    async with serve(down) as client:
        by_hash = await send(client, method, extensions=apq(digest))
        assert by_hash.status_code == 503, by_hash.text
        error = by_hash.json()["errors"][0]
        assert error["extensions"] == {"code": "SOURCE_UNAVAILABLE", "source": "redis"}
        assert "send the query in full" in error["message"]
        assert by_hash.headers["cache-control"] == "no-cache"
        full = await send(client, method, query=document, extensions=apq(digest))
        assert full.status_code == 200, full.text
        assert full.json() == {"data": {"__typename": "Query"}}
