"""Each limit just under and just over, on an app with small limits; each refusal QUERY_TOO_COMPLEX, never run."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from gateway.jobs.seeding import SeedReport
from tests.conftest import make_test_settings, token_for
from tests.http.conftest import serve

LIMITS = {"max_query_bytes": 400, "max_tokens": 60, "max_depth": 4, "max_aliases": 3, "max_cost": 200}


@pytest_asyncio.fixture(scope="module")
async def limited(seeded: SeedReport) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(make_test_settings(**LIMITS)) as client:
        yield client


async def post(client: httpx.AsyncClient, query: str, *, strict: bool = True, **extra: Any) -> httpx.Response:
    accept = "application/graphql-response+json" if strict else "application/json"
    return await client.post("/graphql", json={"query": query, **extra}, headers={"Accept": accept})


def refused(response: httpx.Response, strict: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    assert response.status_code == (400 if strict else 200), body
    assert "data" not in body
    assert [e["extensions"]["code"] for e in body["errors"]] == ["QUERY_TOO_COMPLEX"], body
    return body


def ran(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    assert response.status_code == 200, body
    assert "errors" not in body, body
    return body


async def test_document_size(limited: httpx.AsyncClient) -> None:
    base = '{ product(id: "1") { title } }'
    ran(await post(limited, base + " " * (400 - len(base))))
    body = refused(await post(limited, base + " " * (401 - len(base))))
    assert body["errors"][0]["extensions"] == {"code": "QUERY_TOO_COMPLEX", "limit": 400, "actual": 401}


async def test_token_count(limited: httpx.AsyncClient) -> None:
    def query(fields: int) -> str:  # `{ product ( id : "1" ) {` is 8 tokens, `} }` 2, each field 1
        return '{ product(id: "1") { ' + " ".join(["title"] * fields) + " } }"

    ran(await post(limited, query(50)))  # 60 tokens
    refused(await post(limited, query(51)))  # 61


async def test_bracket_nesting_is_refused_before_parsing(limited: httpx.AsyncClient) -> None:
    deep = "{" * 5000 + "}" * 5000  # would exhaust the parser's recursion; the lexer counts it flat
    big = make_test_settings(max_tokens=100_000, max_query_bytes=1_000_000, max_depth=4)
    async with serve(big) as client:
        body = refused(await post(client, deep))
    assert "nest" in body["errors"][0]["message"]
    ran(
        await post(
            limited, '{ products(first: 1, filter: {attributes: [{name: "language", eq: "x"}]}) { totalCount } }'
        )
    )


async def test_depth(limited: httpx.AsyncClient) -> None:
    four = '{ product(id: "1") { categories { parent { name } } } }'
    five = '{ product(id: "1") { categories { parent { parent { name } } } } }'
    ran(await post(limited, four))
    body = refused(await post(limited, five))
    assert body["errors"][0]["extensions"]["actual"] == 5
    # Fragments count where they are spread.
    refused(
        await post(
            limited, '{ product(id: "1") { ...C } } fragment C on Product { categories { parent { parent { id } } } }'
        )
    )


async def test_aliases(limited: httpx.AsyncClient) -> None:
    ran(await post(limited, '{ a: product(id: "1") { id } b: product(id: "2") { id } c: product(id: "3") { id } }'))
    refused(
        await post(
            limited,
            '{ a: product(id: "1") { id } b: product(id: "2") { id } c: product(id: "3") { id } d: viewer { id } }',
        )
    )


async def test_cost_grows_with_page_sizes(limited: httpx.AsyncClient) -> None:
    # products: 5; its nodes list takes first=N items of (1 + title 1 + inventory 1) → 5 + 1 + N * 2 ... within 200.
    query = "query ($n: Int!) { products(first: $n) { nodes { title inventory } } }"
    under = await post(limited, query, variables={"n": 90})
    assert under.status_code == 200, under.json()
    over = refused(await post(limited, query, variables={"n": 100}))
    assert over["errors"][0]["extensions"]["actual"] > 200
    literal = refused(await post(limited, "{ products(first: 100) { nodes { title inventory } } }"))
    assert literal["errors"][0]["extensions"]["actual"] == over["errors"][0]["extensions"]["actual"]


async def test_with_application_json_a_refusal_is_200(limited: httpx.AsyncClient) -> None:
    refused(await post(limited, "{ " + "a: viewer { id } " * 5 + "}", strict=False), strict=False)


async def test_introspection_can_be_turned_off(seeded: SeedReport) -> None:
    query = "{ __schema { queryType { name } } }"
    async with serve(make_test_settings()) as client:
        assert ran(await post(client, query))["data"]["__schema"]["queryType"]["name"] == "Query"
    async with serve(make_test_settings(introspection=False)) as client:
        response = await post(client, query)
        body = response.json()
        assert response.status_code == 400
        assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        assert "introspection" in body["errors"][0]["message"].lower()
        assert ran(await post(client, '{ product(id: "1") { __typename title } }'))["data"]["product"]["title"]


async def test_request_timeout_is_504_with_timeout(seeded: SeedReport) -> None:
    async with serve(make_test_settings(request_timeout_s=0.001)) as client:
        response = await client.post(
            "/graphql",
            json={"query": '{ user(id: "1") { recommendations(limit: 100) { score } } }'},
            headers={"Authorization": f"Bearer {token_for(1)}"},
        )
        body = response.json()
        assert response.status_code == 504
        assert [e["extensions"]["code"] for e in body["errors"]] == ["TIMEOUT"]
        assert response.headers["x-request-id"]
        assert (await client.get("/health")).status_code == 200


@pytest.mark.parametrize("limit", ["max_depth", "max_aliases", "max_cost", "max_tokens"])
async def test_defaults_let_the_real_client_queries_through(seeded: SeedReport, limit: str) -> None:
    """GraphiQL's introspection query and the 1,000-order page both fit the default limits."""
    from graphql import get_introspection_query

    async with serve(make_test_settings()) as client:
        body = ran(await post(client, get_introspection_query(descriptions=True)))
        assert body["data"]["__schema"]["types"]
        page = """query { user(id: "1") { orders(first: 1000) { nodes { id total items { quantity
                  product { id title price attributes rating { average count } } } } }
                  recommendations(limit: 10) { score product { id title } } } }"""
        response = await client.post(
            "/graphql", json={"query": page}, headers={"Authorization": f"Bearer {token_for(1)}"}
        )
        assert response.status_code == 200
        assert "errors" not in response.json()
