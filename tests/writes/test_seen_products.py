"""Every recommendation strategy leaves out what the user rated (without buying it) and what the user bought
(without rating it), while the same product is recommended to someone who has not; MovieLens alone cannot show
this, since each of its ratings is also a purchase."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import update

from gateway.config import Settings
from gateway.stores import Sources
from gateway.stores.mongo.schema import USER_PROFILES
from gateway.stores.mysql import tables as t
from loaders.cached import invalidate
from tests.conftest import gql, make_test_settings
from tests.http.conftest import serve
from tests.writes.conftest import OTHER_ID, PRODUCT_ID, relay
from tests.writes.test_orders import line, order
from tests.writes.test_relay import FAST

HELPERS = [31, 32, 33, 34, 35]  # seeded MovieLens users: each rates and buys both test products (400 units)
RATED_ONLY, BOUGHT_ONLY = 36, 37
RATE = "mutation ($id: ID!, $r: Int!) { rateProduct(productId: $id, rating: $r) { id } }"
LIST = """query ($s: RecommendationStrategy!) { viewer { recommendations(limit: 100, strategy: $s) {
  product { id } } } }"""


@pytest_asyncio.fixture
async def histories(sources: Sources, settings: Settings, stocked: list[int]) -> AsyncIterator[None]:
    """The helpers' purchases and ratings and the two users' single interaction, applied by the relay; the users'
    profiles and cached lists put back afterwards (``stocked`` removes the rest)."""
    users = [*HELPERS, RATED_ONLY, BOUGHT_ONLY]
    profiles = {u: await sources.mongodb.db[USER_PROFILES].find_one({"_id": u}) for u in users}
    async with sources.mysql.engine.begin() as conn:
        await conn.execute(update(t.inventory).where(t.inventory.c.product_id.in_(stocked)).values(quantity=5000))
    yield
    for user, profile in profiles.items():
        if profile is not None:
            await sources.mongodb.db[USER_PROFILES].replace_one({"_id": user}, profile)
    await invalidate(sources, settings, [(kind, u) for u in users for kind in ("user", "recommendations")])


async def _rate(client: httpx.AsyncClient, user: int, product_id: int) -> None:
    body = await gql(client, RATE, {"id": str(product_id), "r": 5}, user=user)
    assert "errors" not in body, body


@pytest.mark.parametrize("strategy", ["GRAPH", "SIMILAR_USERS", "POPULAR"])
async def test_rated_or_bought_products_are_left_out(
    client: httpx.AsyncClient, sources: Sources, histories: None, strategy: str
) -> None:
    for n, helper in enumerate(HELPERS):
        body = await order(
            client, helper, f"seen-products-{strategy}-{n}", [line(PRODUCT_ID, 400), line(OTHER_ID, 400)]
        )
        assert "errors" not in body, body
        await _rate(client, helper, PRODUCT_ID)
        await _rate(client, helper, OTHER_ID)
    await _rate(client, RATED_ONLY, PRODUCT_ID)
    body = await order(client, BOUGHT_ONLY, f"seen-products-{strategy}-only", [line(OTHER_ID)])
    assert "errors" not in body, body
    await relay(sources, FAST).drain()

    async with serve(make_test_settings(entity_cache=False, source_timeout_s=15.0)) as uncached:
        lists: dict[int, list[int]] = {}
        for user in (RATED_ONLY, BOUGHT_ONLY):
            answer: dict[str, Any] = await gql(uncached, LIST, {"s": strategy}, user=user)
            assert "errors" not in answer, answer
            lists[user] = [int(rec["product"]["id"]) for rec in answer["data"]["viewer"]["recommendations"]]
    assert PRODUCT_ID not in lists[RATED_ONLY]  # rated, not bought
    assert OTHER_ID not in lists[BOUGHT_ONLY]  # bought, not rated
    if strategy != "SIMILAR_USERS":  # its 50 neighbours are long-term look-alikes, not these helpers
        assert OTHER_ID in lists[RATED_ONLY]  # ...while each is recommended to the other
        assert PRODUCT_ID in lists[BOUGHT_ONLY]
