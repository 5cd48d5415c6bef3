"""Every permission rule both ways: the user themself, another user, an admin, a guest (the table in
docs/ARCHITECTURE.md)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gateway.auth import mint
from gateway.jobs.seeding import SeedReport
from tests.conftest import make_test_settings, token_for

OWNER, OTHER = 21, 22
PRIVATE_FIELDS = {
    "email": "email",
    "age": "age",
    "gender": "gender",
    "occupation": "occupation",
    "zipCode": "zipCode",
    "profile": "profile { favoriteGenres }",
    "orders": "orders(first: 1) { nodes { id } }",
    "recommendations": "recommendations(limit: 1) { score }",
    "similarUsers": "similarUsers(limit: 1) { id }",
}


async def ask(client: httpx.AsyncClient, query: str, token: str | None = None) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await client.post("/graphql", json={"query": query}, headers=headers)
    return response.status_code, response.json()


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


@pytest.mark.parametrize("field", list(PRIVATE_FIELDS))
async def test_private_user_fields(client: httpx.AsyncClient, seeded: SeedReport, field: str) -> None:
    query = f'{{ user(id: "{OWNER}") {{ id name {PRIVATE_FIELDS[field]} }} }}'

    status, own = await ask(client, query, token_for(OWNER))
    assert (status, codes(own)) == (200, []), own
    assert own["data"]["user"][field] is not None or field in {"age", "gender", "occupation", "zipCode"}

    status, admin = await ask(client, query, token_for(OTHER, admin=True))
    assert (status, codes(admin)) == (200, [])
    assert admin["data"]["user"][field] == own["data"]["user"][field]

    status, other = await ask(client, query, token_for(OTHER))
    assert (status, codes(other)) == (200, ["FORBIDDEN"])
    assert other["data"]["user"] == {"id": str(OWNER), "name": f"MovieLens user {OWNER}", field: None}
    assert other["errors"][0]["path"] == ["user", field]

    status, guest = await ask(client, query)
    assert (status, codes(guest)) == (401, ["UNAUTHENTICATED"])
    assert guest["data"]["user"] == {"id": str(OWNER), "name": f"MovieLens user {OWNER}", field: None}


async def test_public_fields_are_readable_by_anyone(client: httpx.AsyncClient, seeded: SeedReport) -> None:
    query = f'{{ user(id: "{OWNER}") {{ id name createdAt }} product(id: "1") {{ title rating {{ count }} }} }}'
    for token in (None, token_for(OTHER), token_for(OWNER)):
        status, body = await ask(client, query, token)
        assert (status, codes(body)) == (200, [])
        assert body["data"]["user"]["name"] == f"MovieLens user {OWNER}"


async def test_order_by_id(client: httpx.AsyncClient, seeded: SeedReport) -> None:
    status, own = await ask(
        client, f'{{ user(id: "{OWNER}") {{ orders(first: 1) {{ nodes {{ id }} }} }} }}', token_for(OWNER)
    )
    order_id = own["data"]["user"]["orders"]["nodes"][0]["id"]
    query = f'{{ order(id: "{order_id}") {{ id total user {{ id }} }} }}'

    status, body = await ask(client, query, token_for(OWNER))
    assert (status, body["data"]["order"]["id"]) == (200, order_id)
    status, body = await ask(client, query, token_for(OTHER, admin=True))
    assert (status, body["data"]["order"]["user"]) == (200, {"id": str(OWNER)})
    status, body = await ask(client, query, token_for(OTHER))
    assert (status, body["data"], codes(body)) == (200, {"order": None}, ["FORBIDDEN"])
    status, body = await ask(client, query)
    assert (status, body["data"], codes(body)) == (401, {"order": None}, ["UNAUTHENTICATED"])
    # A guest cannot tell an order that exists from one that does not.
    status, missing = await ask(client, '{ order(id: "999999999") { id } }')
    assert (status, codes(missing)) == (401, ["UNAUTHENTICATED"])


async def test_recommendations_by_user_id(client: httpx.AsyncClient, seeded: SeedReport) -> None:
    query = f'{{ recommendations(userId: "{OWNER}", limit: 2) {{ score }} }}'
    for token, expected in [
        (token_for(OWNER), []),
        (token_for(OTHER, admin=True), []),
        (token_for(OTHER), ["FORBIDDEN"]),
        (None, ["UNAUTHENTICATED"]),
    ]:
        _, body = await ask(client, query, token)
        assert codes(body) == expected
        assert (body["data"]["recommendations"] is None) == bool(expected)


async def test_viewer(client: httpx.AsyncClient, seeded: SeedReport) -> None:
    _, signed_in = await ask(client, "{ viewer { id email } }", token_for(OWNER))
    assert signed_in == {"data": {"viewer": {"id": str(OWNER), "email": f"user{OWNER}@movielens.example"}}}
    status, guest = await ask(client, "{ viewer { id } }")
    assert (status, guest) == (200, {"data": {"viewer": None}})
    _, ghost = await ask(client, "{ viewer { id } }", token_for(987_654_321))  # a valid token, no such user
    assert ghost == {"data": {"viewer": None}}


@pytest.mark.parametrize(
    "authorization",
    ["Bearer not-a-jwt", "Bearer " + "e" * 40, "Basic Zm9vOmJhcg==", "Bearer"],
)
async def test_an_invalid_token_is_401_before_anything_runs(
    client: httpx.AsyncClient, seeded: SeedReport, authorization: str
) -> None:
    response = await client.post(
        "/graphql", json={"query": '{ product(id: "1") { title } }'}, headers={"Authorization": authorization}
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert "data" not in body
    assert codes(body) == ["UNAUTHENTICATED"]


async def test_an_expired_token_is_401(client: httpx.AsyncClient, seeded: SeedReport) -> None:
    expired = mint(make_test_settings(), OWNER, ttl_s=-120)  # beyond the server's 30 s of leeway
    status, body = await ask(client, "{ viewer { id } }", expired)
    assert (status, codes(body)) == (401, ["UNAUTHENTICATED"])
    assert "expired" in body["errors"][0]["message"]
