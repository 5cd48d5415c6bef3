"""GraphQL over HTTP (gateway/http/graphql_http.py): requests read, media type negotiated, statuses per
docs/ARCHITECTURE.md."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest

from gateway.http.media import GRAPHQL_RESPONSE, JSON
from tests.conftest import make_test_settings
from tests.http.conftest import serve

QUERY = "{ backends { redis { server } } }"
NEW = {"Accept": GRAPHQL_RESPONSE}
OLD = {"Accept": JSON}


def content_type(response: httpx.Response) -> str:
    return response.headers["content-type"]


def codes(body: dict[str, Any]) -> list[str]:
    """The code of each error; every error must have one."""
    return [error["extensions"]["code"] for error in body["errors"]]


async def post_raw(client: httpx.AsyncClient, body: bytes, **headers: str) -> httpx.Response:
    return await client.post("/graphql", content=body, headers={"Content-Type": "application/json", **headers})


# --- GET and POST both execute ------------------------------------------------------------------------------


async def test_post_executes(client: httpx.AsyncClient) -> None:
    response = await post_raw(client, orjson.dumps({"query": QUERY}), **{"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"backends": {"redis": {"server": "Redis"}}}}
    assert content_type(response) == "application/json; charset=utf-8"


async def test_post_accepts_a_utf8_charset(client: httpx.AsyncClient) -> None:
    body = orjson.dumps({"query": QUERY, "variables": None, "operationName": None, "extensions": None})
    response = await post_raw(client, body, **{"Content-Type": "Application/JSON; charset=UTF-8"})
    assert response.status_code == 200, response.text
    assert response.json()["data"]["backends"]["redis"]["server"] == "Redis"


async def test_get_executes_with_variables_and_operation_name(client: httpx.AsyncClient) -> None:
    query = "query A { __typename } query B($x: Boolean!) { b: backends @include(if: $x) { redis { server } } }"
    params = {"query": query, "operationName": "B", "variables": '{"x": true}', "extensions": "{}"}
    response = await client.get("/graphql", params=params, headers=NEW)
    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"b": {"redis": {"server": "Redis"}}}}
    assert content_type(response) == f"{GRAPHQL_RESPONSE}; charset=utf-8"


async def test_get_from_a_browser_with_a_query_executes_it(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", params={"query": "{ __typename }"}, headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}


# --- malformed requests: 400 BAD_REQUEST whatever the media type ----------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{", "not valid JSON"),
        (b"", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b'[{"query": "{ __typename }"}]', "batched requests"),
        (b'"{ __typename }"', "must be a JSON object"),
        (b"{}", "no GraphQL query"),
        (b'{"query": null}', "no GraphQL query"),
        (b'{"query": ""}', "`query` is empty"),
        (b'{"query": "  "}', "`query` is empty"),
        (b'{"query": 1}', "`query` must be a string"),
        (b'{"query": "{ __typename }", "variables": "{}"}', "`variables` must be a JSON object"),
        (b'{"query": "{ __typename }", "variables": []}', "`variables` must be a JSON object"),
        (b'{"query": "{ __typename }", "operationName": 1}', "`operationName` must be a string"),
        (b'{"query": "{ __typename }", "extensions": []}', "`extensions` must be a JSON object"),
    ],
)
@pytest.mark.parametrize("accept", [NEW, OLD])
async def test_malformed_post_is_400(
    client: httpx.AsyncClient, body: bytes, message: str, accept: dict[str, str]
) -> None:
    response = await post_raw(client, body, **accept)
    assert response.status_code == 400, response.text
    result = response.json()
    assert codes(result) == ["BAD_REQUEST"]
    assert message in result["errors"][0]["message"]
    assert "data" not in result
    assert content_type(response) == f"{accept['Accept']}; charset=utf-8"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "no GraphQL query"),
        ({"query": ""}, "`query` is empty"),
        ({"query": "{ __typename }", "variables": "{x"}, "`variables` parameter is not valid JSON"),
        ({"query": "{ __typename }", "variables": "[1]"}, "`variables` must be a JSON object"),
        ({"query": "{ __typename }", "extensions": "{"}, "`extensions` parameter is not valid JSON"),
        ({"query": "{ __typename }", "extensions": "true"}, "`extensions` must be a JSON object"),
    ],
)
@pytest.mark.parametrize("accept", [NEW, OLD, {"Accept": "*/*"}])
async def test_malformed_get_is_400(
    client: httpx.AsyncClient, params: dict[str, str], message: str, accept: dict[str, str]
) -> None:
    response = await client.get("/graphql", params=params, headers=accept)
    assert response.status_code == 400, response.text
    assert codes(response.json()) == ["BAD_REQUEST"]
    assert message in response.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    "content_type_header",
    [
        None,
        "text/plain",
        "application/graphql",
        "application/x-www-form-urlencoded",
        "application/json; charset=latin-1",
    ],
)
async def test_post_not_as_json_is_415(client: httpx.AsyncClient, content_type_header: str | None) -> None:
    headers = {"Content-Type": content_type_header} if content_type_header else {}
    response = await client.post("/graphql", content=orjson.dumps({"query": QUERY}), headers=headers)
    assert response.status_code == 415, response.text
    assert codes(response.json()) == ["BAD_REQUEST"]
    assert "application/json" in response.json()["errors"][0]["message"]


async def test_mutation_over_get_is_405_allow_post(client: httpx.AsyncClient) -> None:
    # The operation type is checked before validation, so this holds before the schema has a Mutation type.
    response = await client.get("/graphql", params={"query": "mutation { anything }"}, headers=NEW)
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == "POST"
    assert codes(response.json()) == ["BAD_REQUEST"]


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_subscription_over_http_is_refused(client: httpx.AsyncClient, method: str) -> None:
    query = "subscription { anything }"
    if method == "GET":
        response = await client.get("/graphql", params={"query": query})
    else:
        response = await client.post("/graphql", json={"query": query})
    assert response.status_code == 400, response.text
    assert codes(response.json()) == ["BAD_REQUEST"]
    assert "WebSocket" in response.json()["errors"][0]["message"]


# --- the body limit -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def small() -> AsyncIterator[httpx.AsyncClient]:
    """An app accepting bodies of at most 1024 bytes, without GraphiQL."""
    async with serve(make_test_settings(max_body_bytes=1024, graphiql=False)) as http:
        yield http


def padded(size: int) -> bytes:
    body = orjson.dumps({"query": "{ __typename }"})
    return body[:-1] + b" " * (size - len(body)) + b"}"


async def test_body_at_the_limit_is_read(small: httpx.AsyncClient) -> None:
    response = await post_raw(small, padded(1024))
    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"__typename": "Query"}}


async def test_body_over_the_limit_by_content_length_is_413(small: httpx.AsyncClient) -> None:
    response = await post_raw(small, padded(1025), **NEW)
    assert response.status_code == 413, response.text
    assert codes(response.json()) == ["BAD_REQUEST"]
    assert "1024 bytes" in response.json()["errors"][0]["message"]


async def test_streamed_body_over_the_limit_is_413_before_it_is_all_read(small: httpx.AsyncClient) -> None:
    sent = []

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"query": "{ __typename }", "pad": "'
        for _ in range(1000):
            sent.append(1)
            yield b"x" * 100
        yield b'"}'

    request = small.build_request("POST", "/graphql", content=chunks(), headers={"Content-Type": "application/json"})
    assert "content-length" not in request.headers
    assert request.headers["transfer-encoding"] == "chunked"
    response = await small.send(request)
    assert response.status_code == 413, response.text
    assert codes(response.json()) == ["BAD_REQUEST"]
    assert len(sent) < 20  # stopped reading just past 1024 bytes, not after 100 kB


async def test_invalid_content_length_is_400(small: httpx.AsyncClient) -> None:
    request = small.build_request("POST", "/graphql", content=padded(100), headers={"Content-Type": "application/json"})
    request.headers["Content-Length"] = "1e3"
    response = await small.send(request)
    assert response.status_code == 400, response.text
    assert codes(response.json()) == ["BAD_REQUEST"]


async def test_without_graphiql_a_browser_get_without_query_is_400(small: httpx.AsyncClient) -> None:
    response = await small.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 400
    assert codes(response.json()) == ["BAD_REQUEST"]


# --- content negotiation --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, JSON),
        ("*/*", JSON),
        ("application/json", JSON),
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE}, application/json;q=0.9", GRAPHQL_RESPONSE),
        (f"application/json, {GRAPHQL_RESPONSE};q=0.9", JSON),
        ("text/plain", JSON),
    ],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_accept_picks_the_media_type(
    client: httpx.AsyncClient, accept: str | None, expected: str, method: str
) -> None:
    headers = {"Accept": accept} if accept else {}
    if method == "GET":
        response = await client.get("/graphql", params={"query": QUERY}, headers=headers)
    else:
        response = await client.post("/graphql", json={"query": QUERY}, headers=headers)
    assert response.status_code == 200, response.text
    assert content_type(response) == f"{expected}; charset=utf-8"
    assert response.headers["vary"] == "Accept"
    assert response.json()["data"]["backends"]["redis"]["server"] == "Redis"
