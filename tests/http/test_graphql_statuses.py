"""The status of each GraphQL outcome over HTTP (docs/ARCHITECTURE.md): a document never executed is 400 as
application/graphql-response+json and 200 as application/json; executed (partial data included) is 200 in both.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from gateway.http.media import GRAPHQL_RESPONSE, JSON
from tests.conftest import make_test_settings
from tests.http.conftest import serve

BOOL_VAR = "query ($x: Boolean!) { __typename @include(if: $x) }"
NEVER_EXECUTED = {GRAPHQL_RESPONSE: 400, JSON: 200}


def codes(body: dict[str, Any]) -> list[str]:
    """The code of each error; every error must have one."""
    return [error["extensions"]["code"] for error in body["errors"]]


async def post(client: httpx.AsyncClient, media_type: str, query: str, **fields: Any) -> httpx.Response:
    return await client.post("/graphql", json={"query": query, **fields}, headers={"Accept": media_type})


@pytest.mark.parametrize(
    ("query", "fields", "code"),
    [
        ("{ backends { ", {}, "GRAPHQL_PARSE_FAILED"),
        ("{ nope }", {}, "GRAPHQL_VALIDATION_FAILED"),
        ("query ($x: Boolean!) { __typename }", {}, "GRAPHQL_VALIDATION_FAILED"),  # $x is never used
        ("mutation { anything }", {}, "GRAPHQL_VALIDATION_FAILED"),  # no Mutation type (yet)
        ("query A { __typename }", {"operationName": "B"}, "GRAPHQL_VALIDATION_FAILED"),
        (BOOL_VAR, {"variables": {"x": "abc"}}, "BAD_USER_INPUT"),
        (BOOL_VAR, {"variables": {"x": None}}, "BAD_USER_INPUT"),
        (BOOL_VAR, {}, "BAD_USER_INPUT"),
    ],
)
@pytest.mark.parametrize("media_type", [GRAPHQL_RESPONSE, JSON])
async def test_document_never_executed(
    client: httpx.AsyncClient, query: str, fields: dict[str, Any], code: str, media_type: str
) -> None:
    response = await post(client, media_type, query, **fields)
    body = response.json()
    assert response.status_code == NEVER_EXECUTED[media_type], body
    assert response.headers["content-type"] == f"{media_type}; charset=utf-8"
    assert code in codes(body)
    assert set(codes(body)) == {code}
    assert "data" not in body  # a request error: execution never started


async def test_wrong_variable_type_says_which_variable(client: httpx.AsyncClient) -> None:
    body = (await post(client, JSON, BOOL_VAR, variables={"x": "abc"})).json()
    assert body["errors"][0]["message"].startswith("Variable '$x' ")
    assert "Boolean" in body["errors"][0]["message"]


@pytest.mark.parametrize("media_type", [GRAPHQL_RESPONSE, JSON])
async def test_wrong_variable_type_over_get(client: httpx.AsyncClient, media_type: str) -> None:
    params = {"query": BOOL_VAR, "variables": '{"x": 3}'}
    response = await client.get("/graphql", params=params, headers={"Accept": media_type})
    assert response.status_code == NEVER_EXECUTED[media_type], response.text
    assert codes(response.json()) == ["BAD_USER_INPUT"]


@pytest.mark.parametrize("media_type", [GRAPHQL_RESPONSE, JSON])
async def test_validation_error_over_get(client: httpx.AsyncClient, media_type: str) -> None:
    response = await client.get("/graphql", params={"query": "{ nope }"}, headers={"Accept": media_type})
    assert response.status_code == NEVER_EXECUTED[media_type], response.text
    assert codes(response.json()) == ["GRAPHQL_VALIDATION_FAILED"]


@pytest.fixture(scope="module")
async def redis_down() -> AsyncIterator[httpx.AsyncClient]:
    """An app whose Redis is a port nothing listens on: a store down without stopping the shared servers."""
    async with serve(make_test_settings(redis_url="redis://127.0.0.1:9/1", source_timeout_s=1.0)) as http:
        yield http


@pytest.mark.parametrize("media_type", [GRAPHQL_RESPONSE, JSON])
async def test_field_error_with_partial_data_is_200(redis_down: httpx.AsyncClient, media_type: str) -> None:
    response = await post(redis_down, media_type, "{ backends { redis { server } mysql { server } } }")
    body = response.json()
    assert response.status_code == 200, body
    assert response.headers["content-type"] == f"{media_type}; charset=utf-8"
    assert body["data"]["backends"] == {"redis": None, "mysql": {"server": "MariaDB"}}
    assert codes(body) in (["SOURCE_UNAVAILABLE"], ["TIMEOUT"])
    assert body["errors"][0]["path"] == ["backends", "redis"]
