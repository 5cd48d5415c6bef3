"""HTTP caching of persisted queries over GET (gateway/http/graphql_http.py, http_caching): what the response cache
holds is offered to CDNs and browsers with ``Cache-Control`` (public and its remaining life, or private and
revalidated), an ``ETag`` and 304 to ``If-None-Match``; anything else a GET answers is ``no-store``."""

from __future__ import annotations

import re
from typing import Any

import httpx
import orjson
import pytest

from gateway.http.media import GRAPHQL_RESPONSE, JSON
from tests.cache.test_response_cache import fresh
from tests.conftest import token_for
from tests.http.test_persisted_queries import apq, sha256

PRODUCT = "query ($id: ID!) { product(id: $id) { id title } }"
MAX_AGE = re.compile(r"^public, max-age=(\d+)$")


async def get(
    client: httpx.AsyncClient,
    document: str,
    variables: dict[str, Any] | None = None,
    *,
    register: bool = False,
    user: int | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """The persisted ``document`` over GET by its hash (with its text when ``register``)."""
    params = {"extensions": orjson.dumps(apq(sha256(document))).decode()}
    if variables:
        params["variables"] = orjson.dumps(variables).decode()
    if register:
        params["query"] = document
    sent = {"Accept": JSON, **(headers or {})}
    if user is not None:
        sent["Authorization"] = f"Bearer {token_for(user)}"
    return await client.get("/graphql", params=params, headers=sent)


async def test_a_public_answer_carries_its_remaining_life_and_an_etag_and_304s(
    client: httpx.AsyncClient, seeded: object
) -> None:
    document = fresh(PRODUCT)
    stored = await get(client, document, {"id": "80"}, register=True)
    assert stored.status_code == 200
    assert stored.headers["x-gateway-cache"] == "stored"
    age = MAX_AGE.match(stored.headers["cache-control"])
    assert age is not None
    assert 0 < int(age.group(1)) <= 60  # GATEWAY_RESPONSE_CACHE_TTL_S
    etag = stored.headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]{24}\.j"', etag)
    assert stored.headers["vary"] == "Accept"
    hit = await get(client, document, {"id": "80"})
    assert hit.headers["x-gateway-cache"] == "hit-local"
    assert hit.headers["etag"] == etag  # the same bytes
    assert hit.content == stored.content
    for validator in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        unchanged = await get(client, document, {"id": "80"}, headers={"If-None-Match": validator})
        assert unchanged.status_code == 304, validator
        assert unchanged.content == b""
        assert unchanged.headers["etag"] == etag
        assert MAX_AGE.match(unchanged.headers["cache-control"])
    changed = await get(client, document, {"id": "80"}, headers={"If-None-Match": '"stale.j"'})
    assert changed.status_code == 200
    assert changed.json() == stored.json()
    other = await get(client, document, {"id": "81"}, headers={"If-None-Match": etag})
    assert other.status_code == 200  # another product: another ETag
    assert other.headers["etag"] != etag


async def test_each_media_type_has_its_own_etag(client: httpx.AsyncClient, seeded: object) -> None:
    document = fresh(PRODUCT)
    as_json = await get(client, document, {"id": "82"}, register=True)
    as_graphql = await get(client, document, {"id": "82"}, headers={"Accept": GRAPHQL_RESPONSE})
    assert as_graphql.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert as_graphql.headers["etag"] != as_json.headers["etag"]
    headers = {"Accept": GRAPHQL_RESPONSE, "If-None-Match": as_json.headers["etag"]}
    crossed = await get(client, document, {"id": "82"}, headers=headers)
    assert crossed.status_code == 200


async def test_field_hints_shorten_max_age(client: httpx.AsyncClient, seeded: object) -> None:
    document = fresh('{ product(id: "83") { id inventory } }')
    stored = await get(client, document, register=True)
    age = MAX_AGE.match(stored.headers["cache-control"])
    assert age is not None
    assert int(age.group(1)) <= 10  # Product.inventory: 10 s


async def test_a_viewers_own_answer_is_private_and_revalidated(client: httpx.AsyncClient, seeded: object) -> None:
    document = fresh("{ viewer { id email } }")
    mine = await get(client, document, register=True, user=7)
    assert mine.headers["x-gateway-cache"] == "stored"
    assert mine.headers["cache-control"] == "private, no-cache"
    assert mine.headers["vary"] == "Accept, Authorization"
    etag = mine.headers["etag"]
    again = await get(client, document, user=7, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.headers["cache-control"] == "private, no-cache"
    theirs = await get(client, document, user=8, headers={"If-None-Match": etag})
    assert theirs.status_code == 200  # another viewer's answer, never a 304 on mine
    assert theirs.json()["data"]["viewer"]["id"] == "8"
    assert theirs.headers["etag"] != etag


@pytest.mark.parametrize(
    ("document", "variables"),
    [
        ('{ product(id: "899996") { id } }', None),  # an error (NOT_FOUND): never stored
        ("{ backends { source } }", None),  # hint 0: never cacheable
    ],
)
async def test_what_the_cache_does_not_hold_is_no_store(
    client: httpx.AsyncClient, seeded: object, document: str, variables: dict[str, Any] | None
) -> None:
    response = await get(client, fresh(document), variables, register=True)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert "etag" not in response.headers
    plain = await client.get("/graphql", params={"query": '{ product(id: "80") { id } }'})
    assert plain.headers["cache-control"] == "no-store"  # not persisted: not offered to HTTP caches


async def test_post_answers_carry_no_http_caching(client: httpx.AsyncClient, seeded: object) -> None:
    document = fresh(PRODUCT)
    body = {"query": document, "variables": {"id": "84"}, "extensions": apq(sha256(document))}
    response = await client.post("/graphql", json=body, headers={"If-None-Match": "*"})
    assert response.status_code == 200
    assert "etag" not in response.headers
    assert "cache-control" not in response.headers
