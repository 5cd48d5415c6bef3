"""A store that is down nulls only the fields it serves: the rest of the object still resolves
(docs/ARCHITECTURE.md)."""

from __future__ import annotations

import httpx
import pytest

from gateway.config import Settings
from gateway.jobs.seeding import SeedReport
from gateway.stores import Sources
from loaders.cached import invalidate
from tests.conftest import eventually, gql
from tests.services import services

PRODUCT = '{ product(id: "50") { id title price categories { name } rating { count } boughtTogether { id } } }'


@pytest.mark.services
async def test_product_survives_neo4j_stopped(client: httpx.AsyncClient, seeded: SeedReport) -> None:
    services("stop", "neo4j")
    try:
        body = await gql(client, PRODUCT)
    finally:
        services("start", "neo4j")
    product = body["data"]["product"]
    assert product["title"] == "Star Wars"
    assert product["price"]
    assert product["categories"]
    assert product["rating"]["count"] == 583
    assert product["boughtTogether"] is None
    (error,) = body["errors"]
    assert error["path"] == ["product", "boughtTogether"]
    assert error["extensions"]["code"] == "SOURCE_UNAVAILABLE"
    assert error["extensions"]["source"] == "neo4j"
    assert error["message"] == "neo4j is unavailable"

    async def recovered() -> bool:
        again = await gql(client, PRODUCT)
        return "errors" not in again and bool(again["data"]["product"]["boughtTogether"])

    assert await eventually(recovered, timeout=60)


@pytest.mark.services
async def test_user_page_survives_mongodb_stopped(
    client: httpx.AsyncClient, sources: Sources, settings: Settings, seeded: SeedReport
) -> None:
    query = '{ user(id: "1") { name profile { favoriteGenres } orders(first: 2) { nodes { id } } } }'
    await invalidate(sources, settings, [("user", 1)])  # a cached user would be answered whole, MongoDB or not
    services("stop", "mongodb")
    try:
        body = await gql(client, query, user=1)
    finally:
        services("start", "mongodb")
    user = body["data"]["user"]
    assert user["name"] == "MovieLens user 1"
    assert len(user["orders"]["nodes"]) == 2
    assert user["profile"] is None
    assert [(e["path"], e["extensions"]["source"]) for e in body["errors"]] == [(["user", "profile"], "mongodb")]

    async def whole_again() -> bool:  # the entity without its profile was not cached
        again = await gql(client, query, user=1)
        return "errors" not in again and again["data"]["user"]["profile"] is not None

    assert await eventually(whole_again, timeout=60)
