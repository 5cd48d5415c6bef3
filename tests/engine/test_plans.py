"""The plan executor as the gateway runs it: which operations it plans, what explain and /metrics say of it, that
a plan is compiled once per document, and what a page costs the stores."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import GraphQLObjectType, get_named_type

from engine import codegen
from engine.documents import Documents
from engine.fields import FIELDS
from engine.plan import Plan
from gateway.http.graphql_http import GraphQLHTTP
from gateway.http.manifests import Manifest, Manifests, Operation, sha256_hex
from gateway.jobs.seeding import SeedReport
from schema import schema
from tests.conftest import gql, make_test_settings
from tests.http.conftest import redis, serve  # noqa: F401 (redis: a fixture)
from tests.observability.conftest import scrape, value

ORDERS_PAGE = (
    "query Page($u: ID!) { user(id: $u) { orders(first: 100) { edges { node { id user { name } "
    "items { quantity product { title price } } } } } } }"
)


def reachable_from_query() -> set[GraphQLObjectType]:
    query = schema._schema.query_type
    assert query is not None
    seen: set[GraphQLObjectType] = set()
    stack = [query]
    while stack:
        parent = stack.pop()
        if parent in seen:
            continue
        seen.add(parent)
        for definition in parent.fields.values():
            named = get_named_type(definition.type)
            if isinstance(named, GraphQLObjectType):
                stack.append(named)
    return seen


def test_every_field_reachable_from_query_has_a_plan() -> None:
    types = reachable_from_query()
    wanted = {f"{t.name}.{name}" for t in types for name in t.fields}
    assert wanted - set(FIELDS) == set()
    # and nothing planned that the schema does not have (a renamed field would silently fall back)
    known = {
        f"{t.name}.{name}"
        for t in schema._schema.type_map.values()
        if isinstance(t, GraphQLObjectType)
        for name in t.fields
    }
    assert set(FIELDS) - known == set()
    assert {"Query", "Product", "Order", "User", "Cart", "Backend"} <= {t.name for t in types}


def explain_of(body: dict[str, Any]) -> dict[str, Any]:
    explained: dict[str, Any] = body["extensions"]["explain"]
    return explained


async def test_a_query_runs_as_a_plan_compiled_once(client: httpx.AsyncClient, seeded: SeedReport) -> None:
    query = '{ product(id: "50") { title } plannedOnce: __typename }'
    first = await gql(client, query, explain=True)
    again = await gql(client, query, explain=True)
    assert first["data"] == again["data"] == {"product": {"title": "Star Wars"}, "plannedOnce": "Query"}
    assert explain_of(first)["executor"] == explain_of(again)["executor"] == "plan"
    assert (explain_of(first)["plan"], explain_of(again)["plan"]) == ("compiled", "cached")


async def test_a_plan_is_made_per_value_of_the_variables_skip_and_include_read(
    client: httpx.AsyncClient, seeded: SeedReport
) -> None:
    query = 'query Switch($more: Boolean!) { product(id: "50") { title sku @include(if: $more) } }'
    plans = []
    for more in (True, False, True, False):
        body = await gql(client, query, {"more": more}, explain=True)
        assert ("sku" in body["data"]["product"]) is more
        plans.append(explain_of(body)["plan"])
    assert plans == ["compiled", "compiled", "cached", "cached"]


async def test_mutations_introspection_and_subscriptions_run_on_the_resolvers(
    client: httpx.AsyncClient, seeded: SeedReport
) -> None:
    before = await scrape(client)
    introspection = await gql(client, "{ __schema { queryType { name } } }", explain=True)
    assert introspection["data"] == {"__schema": {"queryType": {"name": "Query"}}}
    assert explain_of(introspection)["executor"] == "resolvers"
    assert "introspection" in explain_of(introspection)["unplanned"]
    mutation = await gql(
        client,
        'mutation { addToCart(productId: "50", quantity: 1) { totalQuantity } }',
        explain=True,
        headers={"X-Session-Id": "engine-plans-session-01"},
    )
    assert mutation["data"]["addToCart"]["totalQuantity"] >= 1
    assert (explain_of(mutation)["executor"], explain_of(mutation)["unplanned"]) == ("resolvers", "mutation")
    after = await scrape(client)
    for reason in ("introspection", "mutation"):
        labels = {"executor": "resolvers", "reason": reason}
        assert (
            value(after, "gateway_operations_total", **labels) - value(before, "gateway_operations_total", **labels)
            == 1
        )


async def test_operations_are_counted_by_executor(client: httpx.AsyncClient, seeded: SeedReport) -> None:
    before = await scrape(client)
    await gql(client, '{ product(id: "1") { id } }')
    after = await scrape(client)
    planned = {"executor": "plan", "reason": "planned"}
    assert (
        value(after, "gateway_operations_total", **planned) - value(before, "gateway_operations_total", **planned) == 1
    )


@pytest.mark.parametrize("executor", ["plan", "resolvers"])
async def test_the_100_order_page_costs_four_sql_statements(seeded: SeedReport, executor: str) -> None:
    """user 655's 100 newest orders with their lines (420) and products: the user, the page, the lines, the
    products; the orders' user is the one already read."""
    settings = make_test_settings(entity_cache=False, response_cache=False, executor=executor)
    async with serve(settings) as client:
        body = await gql(client, ORDERS_PAGE, {"u": "655"}, explain=True, admin=True)
    edges = body["data"]["user"]["orders"]["edges"]
    assert len(edges) == 100
    assert sum(len(edge["node"]["items"]) for edge in edges) == 420
    sources = explain_of(body)["sources"]
    operations = [call["operation"] for call in sources["mysql"]["calls"]]
    assert operations == ["users_by_id", "order_pages_by_user", "items_by_order", "products_by_id"]
    assert set(sources) == {"mysql"}
    assert explain_of(body)["executor"] == executor


async def test_naive_loaders_run_every_operation_on_the_resolvers(seeded: SeedReport) -> None:
    settings = make_test_settings(loader_batching=False, response_cache=False)
    async with serve(settings) as client:
        body = await gql(client, '{ product(id: "50") { title } }', explain=True)
    assert body["data"] == {"product": {"title": "Star Wars"}}
    assert (explain_of(body)["executor"], explain_of(body)["unplanned"]) == ("resolvers", "disabled")


def test_persisted_manifest_operations_are_planned_at_start() -> None:
    document = 'query ManifestPage { product(id: "50") { title price } }'
    query = Operation("test.json", "manifest-page", sha256_hex(document), "ManifestPage", "query", document)
    mutation_text = 'mutation ManifestAdd { addToCart(productId: "1") { totalQuantity } }'
    mutation = Operation(
        "test.json", "manifest-add", sha256_hex(mutation_text), "ManifestAdd", "mutation", mutation_text
    )
    manifests = Manifests.of([Manifest(Path("test.json"), "map", (query, mutation))])
    http = GraphQLHTTP(make_test_settings(response_cache=False), manifests)
    planned = http.engine.documents.get(document).plans
    assert [type(plan) for plan in planned.values()] == [Plan]  # compiled before any request
    assert http.engine.documents.get(mutation_text).plans == {}  # a mutation is never planned


def test_the_document_cache_keeps_the_most_recently_used() -> None:
    documents = Documents(schema._schema, make_test_settings(), size=2)
    first, second = documents.get("{ a: __typename }"), documents.get("{ b: __typename }")
    assert documents.get("{ a: __typename }") is first  # used again: now the most recent
    documents.get("{ c: __typename }")  # evicts b, the least recently used
    assert documents.get("{ a: __typename }") is first
    assert documents.get("{ b: __typename }") is not second


def test_a_builder_writes_only_graphql_names() -> None:
    build = codegen.builder(["id", "n"], {"id": "str(s)", "n": "(s * 2)"}, [], {})
    assert build([1, 2]) == [{"id": "1", "n": 2}, {"id": "2", "n": 4}]
    with pytest.raises(ValueError, match="not a GraphQL name"):
        codegen.builder(['x"]: 1, "y'], {}, [], {})


@pytest.mark.usefixtures("redis")  # deletes the APQ key the test makes
async def test_persisted_documents_in_redis_are_planned_when_the_gateway_starts(seeded: SeedReport) -> None:
    document = 'query PreparedAtStart { product(id: "181") { title } }'
    apq = {"persistedQuery": {"version": 1, "sha256Hash": sha256_hex(document)}}
    settings = make_test_settings(response_cache=False)
    async with serve(settings) as client:
        registered = await client.post("/graphql", json={"query": document, "extensions": apq})
        assert registered.json()["data"] == {"product": {"title": "Return of the Jedi"}}
    async with serve(settings) as client:
        await _prepared()
        body = (
            await client.post(
                "/graphql", json={"extensions": {**apq, "explain": True}}, headers={"X-Gateway-Explain": "1"}
            )
        ).json()
    assert body["data"] == {"product": {"title": "Return of the Jedi"}}
    assert explain_of(body)["plan"] == "cached"  # planned before its first request


async def _prepared(timeout_s: float = 10.0) -> None:
    """Until the starting app's preparation of the persisted documents is over."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while any(task.get_name() == "prepare-persisted" for task in asyncio.all_tasks()):
        assert asyncio.get_running_loop().time() < deadline, "persisted documents still being prepared"
        await asyncio.sleep(0.05)
