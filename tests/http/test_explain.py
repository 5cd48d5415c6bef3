"""``extensions.explain``: every store call the request made, asked for by a request extension or a header."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

QUERY = "{ backends { redis { server } } }"


def redis_of(body: dict[str, Any]) -> dict[str, Any]:
    assert body["data"]["backends"]["redis"]["server"] == "Redis", body
    explain = body["extensions"]["explain"]
    redis: dict[str, Any] = explain["sources"]["redis"]
    return redis


async def test_explain_by_request_extension(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": QUERY, "extensions": {"explain": True}})
    assert response.status_code == 200
    redis = redis_of(response.json())
    assert redis["roundTrips"] >= 1
    assert redis["roundTrips"] == len(redis["calls"])
    assert redis["timeMs"] >= 0
    assert set(redis) == {"roundTrips", "keys", "timeMs", "calls"}
    assert {"operation", "keyCount", "keys", "timeMs"} <= set(redis["calls"][0])
    assert set(response.json()["extensions"]["explain"]["sources"]) == {"redis"}  # only the stores it used


async def test_explain_by_get_extension(client: httpx.AsyncClient) -> None:
    params = {"query": QUERY, "extensions": orjson.dumps({"explain": True}).decode()}
    response = await client.get("/graphql", params=params)
    assert redis_of(response.json())["roundTrips"] >= 1


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_explain_by_header(client: httpx.AsyncClient, method: str) -> None:
    headers = {"X-Gateway-Explain": "1"}
    if method == "GET":
        response = await client.get("/graphql", params={"query": QUERY}, headers=headers)
    else:
        response = await client.post("/graphql", json={"query": QUERY}, headers=headers)
    assert redis_of(response.json())["roundTrips"] >= 1


@pytest.mark.parametrize(
    ("extensions", "headers"),
    [(None, {}), ({"explain": False}, {}), ({"explain": "yes"}, {}), ({}, {"X-Gateway-Explain": "0"})],
)
async def test_no_explain_unless_asked(
    client: httpx.AsyncClient, extensions: dict[str, Any] | None, headers: dict[str, str]
) -> None:
    response = await client.post("/graphql", json={"query": QUERY, "extensions": extensions}, headers=headers)
    body = response.json()
    assert body["data"]["backends"]["redis"]["server"] == "Redis"
    assert "explain" not in body.get("extensions", {})


async def test_explain_of_a_document_never_executed_has_no_calls(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": "{ nope }"}, headers={"X-Gateway-Explain": "1"})
    assert response.json()["extensions"]["explain"] == {"sources": {}, "cache": {}}
