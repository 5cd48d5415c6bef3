"""registerUser and the admin's product mutations: MySQL at once, Neo4j and MongoDB through the relay;
attributes straight to MongoDB after the registry check. Invalid input writes nothing anywhere."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest_asyncio
from sqlalchemy import delete, select

from gateway.jobs.relay import Relay
from gateway.stores import Sources
from gateway.stores.mongo.schema import PRODUCT_ATTRIBUTES, USER_PROFILES
from gateway.stores.mysql import tables as t
from gateway.stores.neo4j import bulk as neo4j_bulk
from tests.conftest import gql
from tests.writes.conftest import OTHER_ID, PRODUCT_ID
from tests.writes.test_orders import line, order
from tests.writes.test_relay import FAST

REGISTER = """mutation ($input: RegisterUserInput!) { registerUser(input: $input) { id name } }"""
EMAIL = "new.customer@example.test"


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


async def graph(sources: Sources, cypher: str, **params: Any) -> list[dict[str, Any]]:
    result = await sources.neo4j.driver.execute_query(cypher, params, database_=sources.neo4j.database)
    return [record.data() for record in result.records]


@pytest_asyncio.fixture
async def newcomer_cleanup(sources: Sources) -> AsyncIterator[None]:
    async def clean() -> None:
        async with sources.mysql.engine.begin() as conn:
            ids = [r[0] for r in await conn.execute(select(t.users.c.id).where(t.users.c.email == EMAIL))]
            await conn.execute(delete(t.outbox))
            await conn.execute(delete(t.users).where(t.users.c.email == EMAIL))
        if ids:
            await neo4j_bulk.run(sources.neo4j, "MATCH (u:User) WHERE u.id IN $ids DETACH DELETE u", ids=ids)
            await sources.mongodb.db[USER_PROFILES].delete_many({"_id": {"$in": ids}})

    await clean()
    yield
    await clean()


async def test_register_user_reaches_every_store(
    client: httpx.AsyncClient, sources: Sources, seeded: Any, newcomer_cleanup: None
) -> None:
    body = await gql(client, REGISTER, {"input": {"email": EMAIL, "name": "New Customer", "favoriteGenres": ["Drama"]}})
    assert "errors" not in body, body
    user_id = int(body["data"]["registerUser"]["id"])
    again = await gql(client, REGISTER, {"input": {"email": EMAIL.upper(), "name": "Again"}})
    assert codes(again) == ["CONFLICT"]
    for bad in (
        {"email": "not-an-email", "name": "x"},
        {"email": "a@b.test", "name": "   "},
        {"email": "c@d.test", "name": "x", "age": 0},
    ):
        assert codes(await gql(client, REGISTER, {"input": bad})) == ["BAD_USER_INPUT"]
    early = await gql(client, "{ viewer { email profile { favoriteGenres } } }", user=user_id)
    assert early["data"]["viewer"] == {"email": EMAIL, "profile": None}  # cached so: the relay writes the profile
    await Relay(sources, FAST).drain()
    assert await graph(sources, "MATCH (u:User {id: $id}) RETURN u.id AS id", id=user_id) == [{"id": user_id}]
    profile = await sources.mongodb.db[USER_PROFILES].find_one({"_id": user_id})
    assert profile is not None
    assert profile["preferences"] == {"genres": ["Drama"]}
    me = await gql(client, "{ viewer { email profile { favoriteGenres } } }", user=user_id)
    assert me["data"]["viewer"] == {"email": EMAIL, "profile": {"favoriteGenres": ["Drama"]}}


UPDATE = """mutation ($id: ID!, $input: UpdateProductInput!) {
  updateProduct(id: $id, input: $input) { id title price categories { id } } }"""


async def test_update_product_mysql_now_graph_after_the_relay(
    client: httpx.AsyncClient, sources: Sources, stocked: list[int]
) -> None:
    changes = {"title": "Renamed", "price": "19.99", "categoryIds": ["3", "4"]}
    assert codes(await gql(client, UPDATE, {"id": str(PRODUCT_ID), "input": changes}, user=5)) == ["FORBIDDEN"]
    assert codes(await gql(client, UPDATE, {"id": str(PRODUCT_ID), "input": {"categoryIds": ["999"]}}, admin=True)) == [
        "NOT_FOUND"
    ]
    body = await gql(client, UPDATE, {"id": str(PRODUCT_ID), "input": changes}, admin=True)
    assert body["data"]["updateProduct"] == {
        "id": str(PRODUCT_ID),
        "title": "Renamed",
        "price": "19.99",
        "categories": [{"id": "3"}, {"id": "4"}],
    }
    await Relay(sources, FAST).drain()
    rows = await graph(
        sources,
        "MATCH (p:Product {id: $id})-[:IN_CATEGORY]->(c) RETURN p.title AS title, c.id AS c ORDER BY c",
        id=PRODUCT_ID,
    )
    assert rows == [{"title": "Renamed", "c": 3}, {"title": "Renamed", "c": 4}]


async def test_delete_product(client: httpx.AsyncClient, sources: Sources, stocked: list[int]) -> None:
    remove = "mutation ($id: ID!) { deleteProduct(id: $id) }"
    await order(client, 3, "keeps-product-1", [line(PRODUCT_ID)])
    assert codes(await gql(client, remove, {"id": str(PRODUCT_ID)}, admin=True)) == ["CONFLICT"]  # it is in an order
    assert codes(await gql(client, remove, {"id": str(OTHER_ID)}, user=3)) == ["FORBIDDEN"]
    assert (await gql(client, remove, {"id": str(OTHER_ID)}, admin=True))["data"] == {"deleteProduct": str(OTHER_ID)}
    gone = await gql(client, f'{{ product(id: "{OTHER_ID}") {{ id }} }}')
    assert codes(gone) == ["NOT_FOUND"]
    await Relay(sources, FAST).drain()
    assert await graph(sources, "MATCH (p:Product {id: $id}) RETURN p", id=OTHER_ID) == []
    assert await sources.mongodb.db[PRODUCT_ATTRIBUTES].find_one({"_id": OTHER_ID}) is None


ATTRIBUTES = """mutation ($id: ID!, $a: JSON!, $d: String) {
  updateProductAttributes(id: $id, attributes: $a, description: $d) { attributes description } }"""


async def test_update_attributes_is_checked_against_the_registry(
    client: httpx.AsyncClient, sources: Sources, stocked: list[int]
) -> None:
    before = await sources.mongodb.db[PRODUCT_ATTRIBUTES].find_one({"_id": PRODUCT_ID})
    for bad in ({"release_year": "2025"}, {"colour": "red"}, {"$set": {"x": 1}}, ["release_year"]):
        body = await gql(client, ATTRIBUTES, {"id": str(PRODUCT_ID), "a": bad}, admin=True)
        assert codes(body) == ["BAD_USER_INPUT"], (bad, body)
    assert await sources.mongodb.db[PRODUCT_ATTRIBUTES].find_one({"_id": PRODUCT_ID}) == before
    body = await gql(
        client, ATTRIBUTES, {"id": str(PRODUCT_ID), "a": {"release_year": 2025}, "d": "New text"}, admin=True
    )
    assert body["data"]["updateProductAttributes"] == {"attributes": {"release_year": 2025}, "description": "New text"}
    stored = await sources.mongodb.db[PRODUCT_ATTRIBUTES].find_one({"_id": PRODUCT_ID})
    assert stored is not None
    assert (stored["attributes"], stored["description"]) == ({"release_year": 2025}, "New text")
    removed = await gql(client, ATTRIBUTES, {"id": str(PRODUCT_ID), "a": {"release_year": None}}, admin=True)
    assert removed["data"]["updateProductAttributes"]["attributes"] == {}
    assert codes(await gql(client, ATTRIBUTES, {"id": str(PRODUCT_ID), "a": {"release_year": 1}}, user=3)) == [
        "FORBIDDEN"
    ]
