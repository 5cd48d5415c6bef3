"""A profile's statistics follow the user's ratings through the relay: count and average recomputed from MySQL,
the cached user dropped, a replay changing nothing; a rating the relay applies before the user's profile exists
still counts once the profile is made."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import func, select, update

from gateway.jobs.profile_stats import rating_stats
from gateway.stores import Sources
from gateway.stores.mongo import projection
from gateway.stores.mongo.schema import USER_PROFILES
from gateway.stores.mysql import tables as t
from gateway.stores.mysql.transactions import now
from tests.conftest import gql
from tests.writes.conftest import OTHER_ID, PRODUCT_ID, relay
from tests.writes.test_catalog import EMAIL, REGISTER, newcomer_cleanup  # noqa: F401 (a fixture)
from tests.writes.test_relay import FAST

RATER = 22  # a seeded MovieLens user
RATE = "mutation ($id: ID!, $r: Int!) { rateProduct(productId: $id, rating: $r) { id } }"
STATS = "{ viewer { profile { stats } } }"


async def mysql_stats(sources: Sources, user_id: int) -> dict[str, Any]:
    r = t.ratings
    async with sources.mysql.engine.connect() as conn:
        count, stars = (
            await conn.execute(select(func.count(), func.sum(r.c.rating)).where(r.c.user_id == user_id))
        ).one()
    return {"ratings": int(count), "rating_avg": round(int(stars) / int(count), 3)}


async def stored_stats(sources: Sources, user_id: int) -> dict[str, Any] | None:
    found = await sources.mongodb.db[USER_PROFILES].find_one({"_id": user_id})
    return None if found is None else dict(found["stats"])


@pytest_asyncio.fixture
async def rater(sources: Sources, stocked: list[int]) -> AsyncIterator[dict[str, Any]]:
    """RATER's stored profile, put back after the test (its ratings of the test products go with them)."""
    collection = sources.mongodb.db[USER_PROFILES]
    before = await collection.find_one({"_id": RATER})
    assert before is not None
    yield before
    await collection.replace_one({"_id": RATER}, before)


async def test_a_rating_brings_the_profile_stats_along(
    client: httpx.AsyncClient, sources: Sources, rater: dict[str, Any]
) -> None:
    seeded = (await gql(client, STATS, user=RATER))["data"]["viewer"]["profile"]["stats"]  # cached now
    assert seeded == await mysql_stats(sources, RATER) == rater["stats"]
    for product_id, stars in ((PRODUCT_ID, 5), (OTHER_ID, 1), (PRODUCT_ID, 4)):  # the last replaces the first
        body = await gql(client, RATE, {"id": str(product_id), "r": stars}, user=RATER)
        assert "errors" not in body, body
    report = await relay(sources, FAST).drain()
    assert len(report.applied) == 3
    expected = await mysql_stats(sources, RATER)
    assert expected["ratings"] == seeded["ratings"] + 2
    assert await stored_stats(sources, RATER) == expected
    after = await sources.mongodb.db[USER_PROFILES].find_one({"_id": RATER})
    assert after is not None
    assert after["preferences"] == rater["preferences"]  # only the statistics change
    assert (await gql(client, STATS, user=RATER))["data"]["viewer"]["profile"]["stats"] == expected  # not cached

    # What a replay writes: the same figures, recomputed from MySQL.
    await projection.set_profile_stats(sources.mongodb, 5.0, await rating_stats(sources.mysql, [RATER]))
    assert await stored_stats(sources, RATER) == expected


@pytest.mark.usefixtures("newcomer_cleanup")
async def test_ratings_before_the_profile_exists_count(
    client: httpx.AsyncClient,
    sources: Sources,
    stocked: list[int],
) -> None:
    """The profile is made by ``user.registered``; a rating event may reach a relay first (another aggregate):
    it makes no profile, and its statistics are written when the profile is made."""
    body = await gql(client, REGISTER, {"input": {"email": EMAIL, "name": "New Customer"}})
    user_id = int(body["data"]["registerUser"]["id"])
    assert "errors" not in await gql(client, RATE, {"id": str(PRODUCT_ID), "r": 3}, user=user_id)
    later = t.outbox.c.event_type == "user.registered"
    async with sources.mysql.engine.begin() as conn:  # the rating's event comes due first
        await conn.execute(update(t.outbox).where(later).values(available_at=now() + timedelta(hours=1)))
    await relay(sources, FAST).drain()
    assert await stored_stats(sources, user_id) is None  # a rating makes no profile
    async with sources.mysql.engine.begin() as conn:
        await conn.execute(update(t.outbox).where(later).values(available_at=now()))
    await relay(sources, FAST).drain()
    assert await stored_stats(sources, user_id) == {"ratings": 1, "rating_avg": 3.0}
    assert (await gql(client, STATS, user=user_id))["data"]["viewer"]["profile"]["stats"] == {
        "ratings": 1,
        "rating_avg": 3.0,
    }
