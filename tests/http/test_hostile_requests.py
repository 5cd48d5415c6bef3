"""A corpus of malformed and hostile requests: each gets the status and code docs/ARCHITECTURE.md gives
it, none a 5xx, and the gateway (and every store's data) is fine afterwards.

Sent with ``Accept: application/graphql-response+json`` so documents that never run answer 400.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from gateway.jobs.seeding import SeedReport
from tests.conftest import token_for

GQL = "application/graphql-response+json"
PRODUCT_BY_ID = "query ($id: ID!) { product(id: $id) { id title } }"
SEARCH = "query ($f: ProductFilter, $after: String) { products(first: 5, filter: $f, after: $after) { totalCount } }"


@dataclass(frozen=True)
class Case:
    name: str
    status: int
    code: str
    method: str = "POST"
    body: bytes | None = None
    params: dict[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)


def post(name: str, status: int, code: str, payload: Any, **headers: str) -> Case:
    return Case(
        name, status, code, body=json.dumps(payload).encode(), headers={"Content-Type": "application/json", **headers}
    )


def raw(name: str, status: int, code: str, body: bytes, content_type: str | None = "application/json") -> Case:
    return Case(name, status, code, body=body, headers={"Content-Type": content_type} if content_type else {})


def doc(name: str, status: int, code: str, query: str, variables: dict[str, Any] | None = None, **h: str) -> Case:
    return post(name, status, code, {"query": query, "variables": variables or {}}, **h)


ADMIN = {"Authorization": f"Bearer {token_for(943, admin=True)}"}
NESTED_JSON = b'{"query": "{ __typename }", "variables": {"v": ' + b"[" * 5000 + b"]" * 5000 + b"}}"

CASES = [
    # The request itself
    raw("broken JSON", 400, "BAD_REQUEST", b'{"query": "{ __typename }"'),
    raw("empty body", 400, "BAD_REQUEST", b""),
    raw("JSON string", 400, "BAD_REQUEST", b'"{ __typename }"'),
    raw("JSON number", 400, "BAD_REQUEST", b"42"),
    raw("batch", 400, "BAD_REQUEST", b'[{"query": "{ __typename }"}]'),
    raw("not UTF-8", 400, "BAD_REQUEST", b'{"query": "\xff\xfe"}'),
    raw("huge number", 400, "BAD_REQUEST", b'{"query": "{ __typename }", "variables": {"x": 1e999999}}'),
    raw("JSON nested 5000 deep", 400, "BAD_REQUEST", NESTED_JSON),
    raw("text/plain", 415, "BAD_REQUEST", b'{"query": "{ __typename }"}', "text/plain"),
    raw("no content type", 415, "BAD_REQUEST", b'{"query": "{ __typename }"}', None),
    raw("form encoded", 415, "BAD_REQUEST", b"query=%7B__typename%7D", "application/x-www-form-urlencoded"),
    raw("latin-1 charset", 415, "BAD_REQUEST", b'{"query": "{ __typename }"}', "application/json; charset=latin-1"),
    raw("body over 1 MiB", 413, "BAD_REQUEST", b'{"query": "' + b" " * (1 << 20) + b'{ __typename }"}'),
    post("query missing", 400, "BAD_REQUEST", {"variables": {}}),
    post("query null", 400, "BAD_REQUEST", {"query": None}),
    post("query empty", 400, "BAD_REQUEST", {"query": ""}),
    post("query a number", 400, "BAD_REQUEST", {"query": 7}),
    post("query a list", 400, "BAD_REQUEST", {"query": ["{ __typename }"]}),
    post("variables a string", 400, "BAD_REQUEST", {"query": "{ __typename }", "variables": "{}"}),
    post("variables a list", 400, "BAD_REQUEST", {"query": "{ __typename }", "variables": []}),
    post("operationName a number", 400, "BAD_REQUEST", {"query": "{ __typename }", "operationName": 1}),
    post("extensions a string", 400, "BAD_REQUEST", {"query": "{ __typename }", "extensions": "explain"}),
    Case("GET without query", 400, "BAD_REQUEST", method="GET", params={}),
    Case(
        "GET variables not JSON", 400, "BAD_REQUEST", method="GET", params={"query": "{ __typename }", "variables": "{"}
    ),
    Case("mutation over GET", 405, "BAD_REQUEST", method="GET", params={"query": "mutation { x }"}),
    doc("subscription over POST", 400, "BAD_REQUEST", "subscription { x }"),
    # Documents that never run
    doc("syntax error", 400, "GRAPHQL_PARSE_FAILED", '{ product(id: "1" { id }'),
    doc("unterminated string", 400, "GRAPHQL_PARSE_FAILED", '{ product(id: "1) { id } }'),
    doc("unknown field", 400, "GRAPHQL_VALIDATION_FAILED", "{ passwords }"),
    doc(
        "fragment cycle",
        400,
        "GRAPHQL_VALIDATION_FAILED",
        "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }",
    ),
    doc("two anonymous operations", 400, "GRAPHQL_VALIDATION_FAILED", "{ viewer { id } } { viewer { id } }"),
    post(
        "unknown operationName",
        400,
        "GRAPHQL_VALIDATION_FAILED",
        {"query": "query A { viewer { id } }", "operationName": "B"},
    ),
    doc("Int overflow literal", 400, "GRAPHQL_VALIDATION_FAILED", "{ products(first: 2147483648) { totalCount } }"),
    doc("brackets 10,000 deep", 400, "QUERY_TOO_COMPLEX", "{" * 10_000 + "}" * 10_000),
    doc("200 KB document", 400, "QUERY_TOO_COMPLEX", "{ __typename " + "#" * 200_000 + "\n}"),
    doc("6,000 tokens", 400, "QUERY_TOO_COMPLEX", "{ " + "__typename " * 6_000 + "}"),
    doc(
        "alias bomb",
        400,
        "QUERY_TOO_COMPLEX",
        "{ " + " ".join(f"a{i}: popularProducts(limit: 100) {{ id }}" for i in range(500)) + " }",
    ),
    doc(
        "depth bomb",
        400,
        "QUERY_TOO_COMPLEX",
        '{ product(id: "1") { categories ' + "{ parent " * 20 + "{ id" + " }" * 22 + " }",
    ),
    doc(
        "cost bomb",
        400,
        "QUERY_TOO_COMPLEX",
        "{ products(first: 1000) { nodes { boughtTogether(limit: 100) { boughtTogether(limit: 100) { id } } } } }",
    ),
    doc(
        "introspection ofType chain",
        400,
        "QUERY_TOO_COMPLEX",
        "{ __schema { types { " + "ofType { " * 40 + "name" + " }" * 40 + " } } }",
    ),
    # Variables of the wrong type
    doc("ID as an object", 400, "BAD_USER_INPUT", PRODUCT_BY_ID, {"id": {"$gt": 0}}),
    doc("ID as a list", 400, "BAD_USER_INPUT", PRODUCT_BY_ID, {"id": [1, 2]}),
    doc("ID missing", 400, "BAD_USER_INPUT", PRODUCT_BY_ID, {}),
    doc("filter not an object", 400, "BAD_USER_INPUT", SEARCH, {"f": "price > 0"}),
    doc("unknown filter field", 400, "BAD_USER_INPUT", SEARCH, {"f": {"$where": "1"}}),
    doc("Money as Infinity", 400, "BAD_USER_INPUT", SEARCH, {"f": {"priceMin": "Infinity"}}),
    doc("Money as NaN", 400, "BAD_USER_INPUT", SEARCH, {"f": {"priceMax": "NaN"}}),
    doc("Money 1e400", 400, "BAD_USER_INPUT", SEARCH, {"f": {"priceMax": "1e400"}}),
    doc("year as a string", 400, "BAD_USER_INPUT", SEARCH, {"f": {"yearMin": "1990; DROP TABLE products"}}),
    # Injection strings that do run: refused by the resolver, the field null
    doc("SQL in an id", 200, "BAD_USER_INPUT", PRODUCT_BY_ID, {"id": "1 OR 1=1"}),
    doc("SQL quote in an id", 200, "BAD_USER_INPUT", PRODUCT_BY_ID, {"id": "1' OR '1'='1"}),
    doc("SQL comment in a user id", 200, "BAD_USER_INPUT", '{ user(id: "1; DROP TABLE users; --") { id } }'),
    doc(
        "UNION in an order id",
        200,
        "BAD_USER_INPUT",
        '{ order(id: "1 UNION SELECT password FROM mysql.user") { id } }',
        **ADMIN,
    ),
    doc("NUL in an id", 200, "BAD_USER_INPUT", PRODUCT_BY_ID, {"id": "1\u0000"}),
    doc("50 KB id", 200, "BAD_USER_INPUT", PRODUCT_BY_ID, {"id": "9" * 50_000}),
    doc("SQL in categoryId", 200, "BAD_USER_INPUT", SEARCH, {"f": {"categoryId": "1) OR (1=1"}}),
    doc(
        "Mongo $where as an attribute",
        200,
        "BAD_USER_INPUT",
        SEARCH,
        {"f": {"attributes": [{"name": "$where", "eq": "sleep(5000)"}]}},
    ),
    doc(
        "Mongo operator as a value",
        200,
        "BAD_USER_INPUT",
        SEARCH,
        {"f": {"attributes": [{"name": "language", "eq": {"$ne": None}}]}},
    ),
    doc(
        "Mongo operator in an in list",
        200,
        "BAD_USER_INPUT",
        SEARCH,
        {"f": {"attributes": [{"name": "language", "in": [{"$gt": ""}]}]}},
    ),
    doc(
        "dotted attribute path",
        200,
        "BAD_USER_INPUT",
        SEARCH,
        {"f": {"attributes": [{"name": "attributes.$**", "eq": 1}]}},
    ),
    doc("__proto__ attribute", 200, "BAD_USER_INPUT", SEARCH, {"f": {"attributes": [{"name": "__proto__", "eq": 1}]}}),
    doc(
        "Cypher in a user id",
        200,
        "BAD_USER_INPUT",
        '{ recommendations(userId: "1}) MATCH (n) DETACH DELETE n //") { score } }',
        **ADMIN,
    ),
    doc("Cypher in a limit", 200, "BAD_USER_INPUT", "{ popularProducts(limit: -1) { id } }"),
    doc("SQL in a cursor", 200, "BAD_USER_INPUT", SEARCH, {"after": "' OR 1=1 --"}),
    doc("forged cursor", 200, "BAD_USER_INPUT", SEARCH, {"after": "cHJvZHVjdDotMTpmb28"}),
    # Identity
    doc("garbage token", 401, "UNAUTHENTICATED", "{ viewer { id } }", Authorization="Bearer x.y.z"),
    doc(
        "alg none token",
        401,
        "UNAUTHENTICATED",
        "{ viewer { id } }",
        Authorization="Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.",
    ),
    doc("SQL in Authorization", 401, "UNAUTHENTICATED", "{ viewer { id } }", Authorization="Bearer ' OR 1=1 --"),
]


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_hostile_request(client: httpx.AsyncClient, seeded: SeedReport, case: Case) -> None:
    headers = {"Accept": GQL, **case.headers}
    if case.method == "GET":
        response = await client.get("/graphql", params=case.params, headers=headers)
    else:
        response = await client.post("/graphql", content=case.body, headers=headers)
    assert response.status_code == case.status, response.text[:500]
    body = response.json()
    assert codes(body), body
    assert set(codes(body)) == {case.code}, body
    assert all(error["message"] for error in body["errors"])
    assert "Traceback" not in response.text
    assert "asyncmy" not in response.text
    assert "pymongo" not in response.text


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 50


async def test_the_gateway_and_the_data_are_fine_afterwards(client: httpx.AsyncClient, seeded: SeedReport) -> None:
    for case in CASES:  # the whole corpus once more, back to back
        if case.method == "GET":
            await client.get("/graphql", params=case.params, headers=case.headers)
        else:
            await client.post("/graphql", content=case.body, headers=case.headers)
    assert (await client.get("/health")).status_code == 200
    body = (
        await client.post(
            "/graphql", json={"query": "{ products(first: 0) { totalCount } popularProducts(limit: 1) { id } }"}
        )
    ).json()
    assert body["data"]["products"]["totalCount"] == 1682
    assert body["data"]["popularProducts"] == [{"id": "50"}]
    users = (await client.post("/graphql", json={"query": '{ user(id: "943") { name } }'})).json()
    assert users == {"data": {"user": {"name": "MovieLens user 943"}}}
