"""The first federated query: one request, read live from all four stores."""

from __future__ import annotations

import httpx

BACKENDS = """
{ backends {
    mysql { server version latencyMs }
    mongodb { server version latencyMs }
    neo4j { server version latencyMs }
    redis { server version latencyMs }
} }
"""


async def test_backends_reads_from_all_four_stores(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": BACKENDS})
    body = response.json()
    assert response.status_code == 200, body
    assert "errors" not in body, body
    backends = body["data"]["backends"]
    assert backends["mysql"]["server"] == "MariaDB"
    assert backends["mongodb"]["server"] in {"mongo-java-server", "FerretDB", "MongoDB"}
    assert backends["neo4j"]["server"].lower() == "neo4j kernel community"
    assert backends["neo4j"]["version"].startswith("5.26.")
    assert backends["redis"]["server"] == "Redis"
    assert all(b["latencyMs"] > 0 for b in backends.values())


async def test_aliases_of_one_store_share_one_load(client: httpx.AsyncClient) -> None:
    query = "{ a: backends { mysql { version latencyMs } } b: backends { mysql { version latencyMs } } }"
    body = (await client.post("/graphql", json={"query": query})).json()
    assert "errors" not in body, body
    # One DataLoader batch per request: both aliases get the very same measurement.
    assert body["data"]["a"] == body["data"]["b"]


async def test_get_query_works(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", params={"query": "{ backends { redis { server } } }"})
    assert response.status_code == 200
    assert response.json()["data"]["backends"]["redis"]["server"] == "Redis"


async def test_unknown_field_is_a_validation_error_with_a_code(client: httpx.AsyncClient) -> None:
    body = (await client.post("/graphql", json={"query": "{ nope }"})).json()
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_syntax_error_is_a_parse_error_with_a_code(client: httpx.AsyncClient) -> None:
    body = (await client.post("/graphql", json={"query": "{ backends { "})).json()
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
