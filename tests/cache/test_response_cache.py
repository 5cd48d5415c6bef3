"""The response cache of persisted queries against the real Redis: stored then hit, TTLs from field hints read
with PTTL, never a mutation, a result with errors, or a non-persisted query; private results only for their
viewer; dropped when an entity in them changes."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import httpx
import orjson

from gateway.config import Settings
from gateway.stores import Sources
from loaders.cached import keys_for
from tests.conftest import ADMIN_ID, token_for
from tests.http.conftest import serve
from tests.writes.conftest import PRODUCT_ID

CACHE = "x-gateway-cache"


def fresh(document: str) -> str:
    return f"# run {uuid.uuid4()}\n{document}"


async def persisted(
    client: httpx.AsyncClient,
    document: str,
    variables: dict[str, Any] | None = None,
    *,
    user: int | None = None,
    admin: bool = False,
    register: bool = False,
    explain: bool = False,
    extra: dict[str, str] | None = None,
) -> httpx.Response:
    """Send ``document`` by its APQ hash (with the document too when ``register``)."""
    digest = hashlib.sha256(document.encode()).hexdigest()
    payload: dict[str, Any] = {
        "variables": variables or {},
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}},
    }
    if register:
        payload["query"] = document
    headers = {"Accept": "application/json"}
    if user is not None or admin:
        headers["Authorization"] = f"Bearer {token_for(user if user is not None else ADMIN_ID, admin=admin)}"
    if explain:
        headers["X-Gateway-Explain"] = "1"
    headers.update(extra or {})
    response = await client.post("/graphql", json=payload, headers=headers)
    assert response.status_code == 200, response.text
    return response


PRODUCT = "query ($id: ID!) { product(id: $id) { id title } }"


async def test_a_persisted_query_is_stored_then_served_whole(
    client: httpx.AsyncClient, sources: Sources, settings: Settings, seeded: object
) -> None:
    document = fresh(PRODUCT)
    first = await persisted(client, document, {"id": "60"}, register=True)
    assert first.headers[CACHE] == "stored"
    second = await persisted(client, document, {"id": "60"}, explain=True)
    assert second.headers[CACHE] == "hit-local"  # from this process's memory
    body = second.json()
    assert body["data"] == first.json()["data"]
    explain = body["extensions"]["explain"]
    assert explain["responseCache"] == "hit-local"
    assert explain["sources"] == {}  # no store asked, Redis neither
    async with serve(settings.model_copy(update={"memory_cache": False})) as other:
        third = await persisted(other, document, {"id": "60"}, explain=True)
    assert third.headers[CACHE] == "hit"  # from Redis
    assert third.json()["data"] == first.json()["data"]
    assert set(third.json()["extensions"]["explain"]["sources"]) == {"redis"}  # no store asked
    other = await persisted(client, document, {"id": "61"})  # other variables: another entry
    assert other.headers[CACHE] == "stored"
    assert other.json()["data"]["product"]["id"] == "61"
    keys = await sources.redis.client.keys(keys_for(settings).response("*"))
    assert keys, "the response is in Redis"
    ttls = [await sources.redis.client.pttl(k) for k in keys]
    assert all(0 < ttl <= settings.response_cache_ttl_s * 1000 for ttl in ttls)


async def test_field_hints_shorten_the_ttl_and_zero_keeps_it_out(
    client: httpx.AsyncClient, sources: Sources, settings: Settings, seeded: object
) -> None:
    document = fresh('{ product(id: "62") { id inventory } }')
    assert (await persisted(client, document, register=True)).headers[CACHE] == "stored"
    key = keys_for(settings).response(_digest(document, None, {}) + ":public")
    assert 0 < await sources.redis.client.pttl(key) <= 10_000  # Product.inventory: 10 s
    backends = fresh("{ backends { source } }")
    response = await persisted(client, backends, register=True)
    assert CACHE not in response.headers  # Query.backends: 0, live status


def _digest(document: str, operation_name: str | None, variables: dict[str, Any]) -> str:
    identity = orjson.dumps(
        [hashlib.sha256(document.encode()).hexdigest(), operation_name, variables], option=orjson.OPT_SORT_KEYS
    )
    return hashlib.sha256(identity).hexdigest()


async def test_never_a_result_with_errors_a_mutation_or_a_plain_query(
    client: httpx.AsyncClient, seeded: object
) -> None:
    missing = fresh('{ product(id: "899997") { id } }')
    assert (await persisted(client, missing, register=True)).headers[CACHE] == "miss"
    again = await persisted(client, missing)
    assert again.headers[CACHE] == "miss"
    assert again.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    plain = await client.post("/graphql", json={"query": '{ product(id: "60") { id } }'})
    assert CACHE not in plain.headers
    mutation = fresh('mutation { addToCart(productId: "60", quantity: 1) { totalQuantity } }')
    guest = {"X-Session-Id": f"response-cache-{uuid.uuid4()}"}
    response = await persisted(client, mutation, register=True, extra=guest)
    assert CACHE not in response.headers
    assert response.json()["data"] == {"addToCart": {"totalQuantity": 1}}
    again = await persisted(client, mutation, extra=guest)
    assert again.json()["data"] == {"addToCart": {"totalQuantity": 2}}  # ran again, not replayed


async def test_private_results_are_served_to_their_viewer_only(client: httpx.AsyncClient, seeded: object) -> None:
    document = fresh('{ user(id: "5") { id email } }')
    own = await persisted(client, document, user=5, register=True)
    assert own.headers[CACHE] == "stored"
    assert (await persisted(client, document, user=5)).headers[CACHE] == "hit-local"
    stranger = await persisted(client, document, user=6)
    assert stranger.headers[CACHE] == "miss"
    assert stranger.json()["data"]["user"]["email"] is None
    assert stranger.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    admin = await persisted(client, document, admin=True)
    assert admin.headers[CACHE] == "stored"  # the admin's own entry, not user 5's
    assert admin.json()["data"] == own.json()["data"]
    viewer = fresh("{ viewer { id email } }")
    mine = await persisted(client, viewer, user=7, register=True)
    theirs = await persisted(client, viewer, user=8)
    assert (mine.headers[CACHE], theirs.headers[CACHE]) == ("stored", "stored")
    assert mine.json()["data"]["viewer"]["id"] == "7"
    assert theirs.json()["data"]["viewer"]["id"] == "8"


UPDATE = 'mutation ($t: String!) { updateProduct(id: "900100", input: {title: $t}) { title } }'
ORDER = """mutation ($key: String!) { createOrder(input: {items: [{productId: "900100", quantity: 1}]},
  idempotencyKey: $key) { id } }"""


async def test_a_change_to_an_entity_drops_the_responses_holding_it(
    client: httpx.AsyncClient, stocked: list[int]
) -> None:
    document = fresh(f'{{ product(id: "{PRODUCT_ID}") {{ title inventory }} }}')
    assert (await persisted(client, document, register=True)).headers[CACHE] == "stored"
    assert (await persisted(client, document)).headers[CACHE] == "hit-local"
    headers = {"Authorization": f"Bearer {token_for(ADMIN_ID, admin=True)}"}
    changed = await client.post("/graphql", json={"query": UPDATE, "variables": {"t": "Changed"}}, headers=headers)
    assert changed.json()["data"] == {"updateProduct": {"title": "Changed"}}
    after = await persisted(client, document)
    assert after.headers[CACHE] == "stored"
    assert after.json()["data"]["product"]["title"] == "Changed"
    stock = after.json()["data"]["product"]["inventory"]
    ordered = await client.post(
        "/graphql", json={"query": ORDER, "variables": {"key": f"resp-{uuid.uuid4()}"}}, headers=headers
    )
    assert "errors" not in ordered.json(), ordered.json()
    bought = await persisted(client, document)
    assert bought.headers[CACHE] == "stored"
    assert bought.json()["data"]["product"]["inventory"] == stock - 1
