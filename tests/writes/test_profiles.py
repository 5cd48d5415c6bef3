"""updateProfile: the viewer's preferences, checked against MySQL's categories, written to MongoDB in one update;
bad input and a stopped MongoDB write nothing; the answer and later reads show the write (the entity cache)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from gateway.jobs.seeding import SeedReport
from gateway.stores import Sources
from gateway.stores.mongo.schema import USER_PROFILES
from tests.conftest import gql
from tests.services import services
from tests.writes.test_catalog import codes

USER = 21  # a seeded MovieLens user: profile {genres: [...]} and stats {ratings, rating_avg}
UPDATE = """mutation ($p: PreferencesInput!) {
  updateProfile(preferences: $p) { id profile { favoriteGenres preferences stats } } }"""
PROFILE = "{ viewer { profile { favoriteGenres preferences } } }"


@pytest_asyncio.fixture
async def profile(sources: Sources, seeded: SeedReport) -> AsyncIterator[dict[str, Any]]:
    """USER's stored profile, put back as it was after the test."""
    collection = sources.mongodb.db[USER_PROFILES]
    before = await collection.find_one({"_id": USER})
    assert before is not None
    yield before
    await collection.replace_one({"_id": USER}, before, upsert=True)


async def stored(sources: Sources) -> dict[str, Any] | None:
    found: dict[str, Any] | None = await sources.mongodb.db[USER_PROFILES].find_one({"_id": USER})
    return found


async def test_update_profile_sets_the_lists_given(
    client: httpx.AsyncClient, sources: Sources, profile: dict[str, Any]
) -> None:
    await gql(client, PROFILE, user=USER)  # the user and profile are in the entity cache now
    body = await gql(
        client, UPDATE, {"p": {"genres": ["drama", " Film-Noir", "Drama"], "categoryIds": ["3"]}}, user=USER
    )
    assert "errors" not in body, body
    answer = body["data"]["updateProfile"]
    assert answer["id"] == str(USER)
    expected = {"genres": ["Drama", "Film-Noir"], "category_ids": ["3"]}
    assert answer["profile"]["preferences"] == expected  # the category's spelling, each once
    assert answer["profile"]["favoriteGenres"] == ["Drama", "Film-Noir"]
    assert answer["profile"]["stats"] == profile["stats"]  # untouched
    assert (await stored(sources)) == {**profile, "preferences": expected}
    assert (await gql(client, PROFILE, user=USER))["data"]["viewer"]["profile"]["preferences"] == expected

    # A list not given is kept; [] empties one.
    body = await gql(client, UPDATE, {"p": {"categoryIds": []}}, user=USER)
    assert body["data"]["updateProfile"]["profile"]["preferences"] == {
        "genres": ["Drama", "Film-Noir"],
        "category_ids": [],
    }
    body = await gql(client, UPDATE, {"p": {"genres": ["Comedy"]}}, user=USER)
    assert body["data"]["updateProfile"]["profile"]["preferences"] == {"genres": ["Comedy"], "category_ids": []}


@pytest.mark.parametrize(
    "preferences",
    [
        {},  # nothing to change
        {"genres": ["Not A Genre"]},
        {"genres": ["Drama", ""]},
        {"genres": [f"g{i}" for i in range(11)]},  # more than 10
        {"categoryIds": ["999999"]},  # no such category
        {"categoryIds": ["three"]},
        {"categoryIds": [str(i) for i in range(2, 13)]},  # more than 10
        {"genres": ["Drama"], "categoryIds": ["999999"]},  # one bad list: neither is written
    ],
)
async def test_bad_preferences_write_nothing(
    client: httpx.AsyncClient, sources: Sources, profile: dict[str, Any], preferences: dict[str, Any]
) -> None:
    body = await gql(client, UPDATE, {"p": preferences}, user=USER)
    assert codes(body) == ["BAD_USER_INPUT"], body
    assert body["data"] is None
    assert await stored(sources) == profile


async def test_a_guest_has_no_profile_to_update(
    client: httpx.AsyncClient, sources: Sources, profile: dict[str, Any]
) -> None:
    response = await client.post("/graphql", json={"query": UPDATE, "variables": {"p": {"genres": ["Drama"]}}})
    body = response.json()
    assert response.status_code == 401
    assert codes(body) == ["UNAUTHENTICATED"]
    assert await stored(sources) == profile


@pytest.mark.services
async def test_with_mongodb_stopped_the_update_fails_whole(
    client: httpx.AsyncClient, sources: Sources, profile: dict[str, Any]
) -> None:
    """MongoDB owns the preferences: stopped, the mutation answers its error (the stable code, the store named)
    at the mutation's path, and after the restart the profile is as it was; then the same update succeeds."""
    change = {"p": {"genres": ["Horror"], "categoryIds": ["2"]}}
    services("stop", "mongodb")
    try:
        body = await gql(client, UPDATE, change, user=USER)
    finally:
        services("start", "mongodb")
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["extensions"]["code"] in {"SOURCE_UNAVAILABLE", "TIMEOUT"}
    assert error["extensions"]["source"] == "mongodb"
    assert error["path"] == ["updateProfile"]
    assert await stored(sources) == profile
    again = await gql(client, UPDATE, change, user=USER)
    assert "errors" not in again, again
    assert again["data"]["updateProfile"]["profile"]["preferences"]["genres"] == ["Horror"]
