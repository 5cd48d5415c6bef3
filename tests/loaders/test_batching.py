"""Batching by shared key: round trips per store do not grow with list sizes; naive resolution does."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
import pytest

from gateway.config import Settings
from gateway.jobs.datasets import synthetic
from gateway.jobs.seeding import SeedReport
from gateway.stores import Sources
from gateway.trace import Trace, tracing
from loaders import Loaders
from tests.conftest import gql, make_test_settings, round_trips
from tests.http.conftest import serve
from tests.loaders.conftest import HEAVY_USER, SYNTHETIC_ORDERS

PAGE = """
query ($id: ID!, $n: Int!) { user(id: $id) {
  id name
  orders(first: $n) { nodes { id total items { quantity product { id title attributes rating { average } } } } }
  recommendations(limit: 10) { score product { id title } }
} }
"""


async def page(client: httpx.AsyncClient, n: int) -> dict[str, Any]:
    body = await gql(client, PAGE, {"id": str(HEAVY_USER), "n": n}, explain=True, user=HEAVY_USER)
    assert "errors" not in body, body["errors"]
    assert len(body["data"]["user"]["orders"]["nodes"]) == n  # the page really holds n orders
    return body


async def test_heavy_user_has_over_a_thousand_orders(synthetic_client: httpx.AsyncClient) -> None:
    body = await gql(synthetic_client, '{ user(id: "1") { orders(first: 0) { totalCount } } }', user=1)
    assert body["data"]["user"]["orders"]["totalCount"] == synthetic.heavy_orders_each(SYNTHETIC_ORDERS) > 1000


async def test_round_trips_per_store_do_not_depend_on_page_size(synthetic_client: httpx.AsyncClient) -> None:
    trips = {n: round_trips(await page(synthetic_client, n)) for n in (1, 10, 100, 1000)}
    assert trips[1] == trips[10] == trips[100] == trips[1000], trips
    assert set(trips[1]) == {"mysql", "mongodb", "neo4j"}
    assert trips[1]["mysql"] <= 6, trips  # user, orders page, items, products (items'), products (recommended)


async def test_naive_resolution_grows_with_the_page(synthetic_seeded: Settings) -> None:
    naive = synthetic_seeded.model_copy(update={"loader_batching": False})
    async with serve(naive) as client:
        one, ten = round_trips(await page(client, 1)), round_trips(await page(client, 10))
    # Ten orders: ten item lookups instead of one, and a product, attribute and metric lookup per line.
    assert ten["mysql"] >= one["mysql"] + 9 + 10
    assert ten["mongodb"] >= one["mongodb"] + 10


async def test_max_batch_size_splits_batches(seeded: SeedReport) -> None:
    small = make_test_settings(loader_max_batch_size=3, entity_cache=False)
    async with serve(small) as client:
        body = await gql(client, "{ products(first: 10) { nodes { inventory rating { count } } } }", explain=True)
    assert "errors" not in body
    calls = Counter(
        call["operation"] for entry in body["extensions"]["explain"]["sources"].values() for call in entry["calls"]
    )
    assert calls["inventory"] == 4  # 10 keys, 3 per batch
    assert calls["product_metrics_by_id"] == 4


async def test_one_batch_answers_every_key_in_order_and_none_for_a_miss(
    settings: Settings, sources: Sources, seeded: SeedReport
) -> None:
    loaders = Loaders(sources=sources, settings=settings.model_copy(update={"entity_cache": False}))
    trace = Trace()
    with tracing(trace):
        users = await loaders.users.load_many([3, 999_999_999, 1, 3, 2])
        documents = await loaders.product_documents.load_many([50, 888_888_888, 1])
    assert [u.id if u else None for u in users] == [3, None, 1, 3, 2]
    assert [d.id if d else None for d in documents] == [50, None, 1]
    assert [(c.source, c.operation, sorted(c.keys)) for c in trace.calls] == [
        ("mysql", "users_by_id", [1, 2, 3, 999_999_999]),
        ("mongodb", "product_attributes_by_id", [1, 50, 888_888_888]),
    ]


@pytest.mark.parametrize("n", [1, 50])
async def test_recommended_products_load_in_one_batch(seeded: SeedReport, n: int) -> None:
    async with serve(make_test_settings(entity_cache=False)) as client:
        body = await gql(
            client,
            f'{{ recommendations(userId: "5", limit: {n}) {{ product {{ title rating {{ average }} }} }} }}',
            explain=True,
            user=5,
        )
    assert len(body["data"]["recommendations"]) == n
    calls = Counter(
        (name, call["operation"])
        for name, entry in body["extensions"]["explain"]["sources"].items()
        for call in entry["calls"]
    )
    assert calls[("mysql", "products_by_id")] == 1
    assert calls[("mongodb", "product_metrics_by_id")] == 1
    assert calls[("neo4j", "recommendations")] == 1
