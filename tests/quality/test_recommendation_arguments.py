"""recommendations(categoryId, usePreferences) on MovieLens-100K, each answer checked against the stores:

- a category keeps, by every strategy, exactly the products of the full ranking that are in it or in one of its
  subcategories (the root category keeps everything); an unknown category answers an empty list;
- preferences weigh the strategy's best 100 as docs/recommendations.md says, from the profile (MongoDB) and the
  products' categories (MySQL); updateProfile changes the next answer at once, the entity cache on;
- with MongoDB stopped, the weighed list is the unweighed one, and nothing else fails.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import select

from gateway.domain.preferences import BOOST
from gateway.jobs.seeding import SeedReport
from gateway.stores import Sources
from gateway.stores.mongo.schema import USER_PROFILES
from gateway.stores.mysql import tables as t
from tests.conftest import gql, make_test_settings
from tests.http.conftest import serve
from tests.services import services

USER = 42  # a seeded MovieLens user
LIST = """query ($u: ID!, $n: Int!, $s: RecommendationStrategy!, $c: ID, $p: Boolean!) {
  recommendations(userId: $u, limit: $n, strategy: $s, categoryId: $c, usePreferences: $p) {
    score reason product { id } } }"""
VIEWER = """query ($c: ID) { viewer {
  recommendations(limit: 5, categoryId: $c, usePreferences: true) { score product { id } }
  profile { favoriteGenres } } }"""
UPDATE = "mutation ($p: PreferencesInput!) { updateProfile(preferences: $p) { id } }"


@pytest_asyncio.fixture(scope="module")
async def uncached(seeded: SeedReport) -> AsyncIterator[httpx.AsyncClient]:
    """Every list computed in the graph (no entity cache); a generous store bound (a loaded machine)."""
    async with serve(make_test_settings(entity_cache=False, source_timeout_s=15.0)) as client:
        yield client


@pytest_asyncio.fixture
async def profile(sources: Sources, seeded: SeedReport) -> AsyncIterator[dict[str, Any]]:
    collection = sources.mongodb.db[USER_PROFILES]
    before = await collection.find_one({"_id": USER})
    assert before is not None
    yield before
    await collection.replace_one({"_id": USER}, before)


async def categories(sources: Sources) -> tuple[dict[int, set[int]], dict[int, tuple[str, int | None]]]:
    """Each product's own categories, and the tree (id -> name, parent)."""
    async with sources.mysql.engine.connect() as conn:
        owned: dict[int, set[int]] = {}
        for product_id, category_id in await conn.execute(select(t.product_categories)):
            owned.setdefault(product_id, set()).add(category_id)
        tree = {row.id: (row.name, row.parent_id) for row in await conn.execute(select(t.categories))}
    return owned, tree


def with_ancestors(ids: set[int], tree: dict[int, tuple[str, int | None]]) -> set[int]:
    out: set[int] = set()
    for category in ids:
        current: int | None = category
        while current is not None and current not in out:
            out.add(current)
            current = tree[current][1]
    return out


async def ask(
    client: httpx.AsyncClient, strategy: str, limit: int, category: str | None = None, *, weigh: bool = False
) -> list[dict[str, Any]]:
    variables = {"u": str(USER), "n": limit, "s": strategy, "c": category, "p": weigh}
    body = await gql(client, LIST, variables, admin=True)
    assert "errors" not in body, body
    answer: list[dict[str, Any]] = body["data"]["recommendations"]
    return answer


def ids(answer: list[dict[str, Any]]) -> list[int]:
    return [int(rec["product"]["id"]) for rec in answer]


@pytest.mark.parametrize("strategy", ["GRAPH", "SIMILAR_USERS", "POPULAR"])
async def test_a_category_keeps_its_products_of_the_full_ranking(
    uncached: httpx.AsyncClient, sources: Sources, strategy: str
) -> None:
    owned, tree = await categories(sources)
    drama = next(c for c, (name, _) in tree.items() if name == "Drama")
    full = await ask(uncached, strategy, 100)
    inside = [rec for rec in full if drama in owned.get(int(rec["product"]["id"]), set())]
    assert 0 < len(inside) < len(full)
    filtered = await ask(uncached, strategy, 10, str(drama))
    assert len(filtered) == 10
    assert all(drama in owned.get(p, set()) for p in ids(filtered))
    assert ids(filtered)[: len(inside)] == ids(inside)[:10]  # the same ranking, the others left out
    scores = [rec["score"] for rec in inside[:10]]
    assert [rec["score"] for rec in filtered[: len(scores)]] == pytest.approx(scores, rel=1e-9)
    root = next(c for c, (_, parent) in tree.items() if parent is None)
    assert ids(await ask(uncached, strategy, 20, str(root))) == ids(full)[:20]  # every film is under the root
    assert await ask(uncached, strategy, 10, "999999") == []


async def test_a_category_id_that_is_no_id_is_bad_input(uncached: httpx.AsyncClient) -> None:
    body = await gql(uncached, LIST, {"u": str(USER), "n": 5, "s": "GRAPH", "c": "drama", "p": False}, admin=True)
    assert body["data"] == {"recommendations": None}
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]


def weighed(
    pool: list[dict[str, Any]],
    genres: list[str],
    category_ids: list[int],
    owned: dict[int, set[int]],
    tree: dict[int, tuple[str, int | None]],
    limit: int,
) -> list[tuple[int, float]]:
    """The formula of docs/recommendations.md, written out again."""
    out = []
    for rank, rec in enumerate(pool):
        product = int(rec["product"]["id"])
        mine = with_ancestors(owned.get(product, set()), tree)
        names = {tree[c][0].casefold() for c in mine}
        matched = sum(g.casefold() in names for g in genres) + sum(c in mine for c in category_ids)
        out.append((-rec["score"] * (1 + BOOST * matched / (len(genres) + len(category_ids))), rank, product))
    out.sort()
    return [(product, -score) for score, _, product in out[:limit]]


async def test_preferences_weigh_the_best_100(
    client: httpx.AsyncClient, uncached: httpx.AsyncClient, sources: Sources, profile: dict[str, Any]
) -> None:
    owned, tree = await categories(sources)
    horror = next(c for c, (name, _) in tree.items() if name == "Horror")
    body = await gql(
        client, UPDATE, {"p": {"genres": ["film-noir", "Sci-Fi"], "categoryIds": [str(horror)]}}, user=USER
    )
    assert "errors" not in body, body
    for strategy in ("GRAPH", "POPULAR"):
        pool = await ask(uncached, strategy, 100)
        got = await ask(uncached, strategy, 10, weigh=True)
        expected = weighed(pool, ["Film-Noir", "Sci-Fi"], [horror], owned, tree, 10)
        assert [(int(r["product"]["id"]), r["score"]) for r in got] == [
            (p, pytest.approx(s, rel=1e-9)) for p, s in expected
        ]
        lifted = [r for r in got if "matches your preferences" in r["reason"]]
        assert lifted
        assert all(r["reason"].startswith(next(p["reason"] for p in pool if p["product"] == r["product"])) for r in got)


async def test_update_profile_reweighs_the_next_answer(
    client: httpx.AsyncClient, sources: Sources, profile: dict[str, Any]
) -> None:
    """With the entity cache (the session's app): the cached user holds the profile; updateProfile drops it."""
    owned, tree = await categories(sources)
    first = await gql(client, UPDATE, {"p": {"genres": ["Documentary"], "categoryIds": []}}, user=USER)
    assert "errors" not in first, first
    before = await gql(client, VIEWER, user=USER)
    assert before["data"]["viewer"]["profile"] == {"favoriteGenres": ["Documentary"]}
    assert "errors" not in await gql(client, UPDATE, {"p": {"genres": ["Film-Noir"]}}, user=USER)
    after = await gql(client, VIEWER, user=USER)
    assert after["data"]["viewer"]["profile"] == {"favoriteGenres": ["Film-Noir"]}
    pool = await gql(client, "{ viewer { recommendations(limit: 100) { score product { id } } } }", user=USER)
    expected = weighed(pool["data"]["viewer"]["recommendations"], ["Film-Noir"], [], owned, tree, 5)
    got = after["data"]["viewer"]["recommendations"]
    assert [int(r["product"]["id"]) for r in got] == [p for p, _ in expected]


@pytest.mark.services
async def test_with_mongodb_stopped_the_list_comes_unweighed(
    client: httpx.AsyncClient, uncached: httpx.AsyncClient, profile: dict[str, Any]
) -> None:
    """Only the weighing needs MongoDB (the profile): the list is the strategy's, with no error; the profile
    itself, asked beside it, is null with the store's error."""
    assert "errors" not in await gql(client, UPDATE, {"p": {"genres": ["Drama", "Comedy"]}}, user=USER)
    plain = await ask(uncached, "GRAPH", 10)
    assert await ask(uncached, "GRAPH", 10, weigh=True) != plain  # reasons name the preferences at least
    both = """query { viewer { recommendations(limit: 10, usePreferences: true) { score reason product { id } }
      profile { favoriteGenres } } }"""
    services("stop", "mongodb")
    try:
        weighed_down = await ask(uncached, "GRAPH", 10, weigh=True)
        body = await gql(uncached, both, user=USER)
    finally:
        services("start", "mongodb")
    assert weighed_down == plain
    assert body["data"]["viewer"]["recommendations"] == plain
    assert body["data"]["viewer"]["profile"] is None
    assert [(e["path"], e["extensions"]["code"], e["extensions"].get("source")) for e in body["errors"]] in (
        [(["viewer", "profile"], code, "mongodb")] for code in ("SOURCE_UNAVAILABLE", "TIMEOUT")
    )
