"""The staleness bound across processes: two real `gateway serve` processes share Redis; after `updateProduct`
through one, the other never answers the old product once the bound has passed since the mutation returned
(docs/hot-path.md). Then the same with the other process's pub/sub connection killed just before the mutation:
the invalidation never reaches it over the channel, and the bound holds all the same (its gate closes, it
resynchronises by the epoch)."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.stores import Sources
from tests.cache.test_response_cache import fresh
from tests.conftest import ADMIN_ID, eventually, token_for
from tests.http.test_persisted_queries import apq, sha256
from tests.serving import Served
from tests.writes.conftest import PRODUCT_ID

BOUND_S = 1.0
PAGE = f'{{ product(id: "{PRODUCT_ID}") {{ id title price }} }}'
UPDATE = f'mutation ($t: String!) {{ updateProduct(id: "{PRODUCT_ID}", input: {{title: $t}}) {{ title }} }}'


@pytest.fixture
def pair(tmp_path: Path, stocked: list[int]) -> Iterator[tuple[Served, Served]]:
    env = {"GATEWAY_MEMORY_CACHE_STALE_S": str(BOUND_S), "GATEWAY_LOG_LEVEL": "info"}
    one = Served(tmp_path / "one.log", **env)
    try:
        other = Served(tmp_path / "other.log", **env)
    except BaseException:
        one.stop()
        raise
    try:
        yield one, other
    finally:
        one.stop()
        other.stop()


async def page(http: httpx.AsyncClient, document: str) -> tuple[str, str]:
    """(the product's title, X-Gateway-Cache) of the persisted page by its hash."""
    response = await http.post("/graphql", json={"extensions": apq(sha256(document))})
    body: dict[str, Any] = response.json()
    assert response.status_code == 200, body
    assert "errors" not in body, body
    return body["data"]["product"]["title"], response.headers["x-gateway-cache"]


async def served_from_memory(http: httpx.AsyncClient, document: str) -> str:
    """Until the page is answered from the process's memory; its title then."""

    async def local() -> str | None:
        title, outcome = await page(http, document)
        return title if outcome == "hit-local" else None

    title = await eventually(local, timeout=30, interval=0.1)
    assert title, "the page was never answered from memory"
    return title


async def update_and_watch(one: httpx.AsyncClient, other: httpx.AsyncClient, document: str, old: str) -> None:
    """``updateProduct`` through ``one``, then ``other``'s answers for three bounds: none after the bound is
    ``old``, and it answers from memory again, with the new title."""
    title = f"Changed {uuid.uuid4().hex[:8]}"
    admin = {"Authorization": f"Bearer {token_for(ADMIN_ID, admin=True)}"}
    changed = await one.post("/graphql", json={"query": UPDATE, "variables": {"t": title}}, headers=admin)
    done = time.monotonic()  # the invalidation ran in Redis before the mutation returned
    assert changed.json()["data"] == {"updateProduct": {"title": title}}, changed.text
    answers: list[tuple[float, str, str]] = []
    while time.monotonic() < done + 3 * BOUND_S:
        sent = time.monotonic()
        answers.append((sent - done, *await page(other, document)))
    late = [answer for answer in answers if answer[0] >= BOUND_S]
    assert late, answers
    stale = [answer for answer in late if answer[1] == old]
    assert not stale, f"old answers after the bound: {stale}"
    assert all(answer[1] == title for answer in answers if answer[1] != old), answers
    assert await served_from_memory(other, document) == title


@contextlib.asynccontextmanager
async def clients(
    pair: tuple[Served, Served],
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient, str]]:
    """A client of each process, and a fresh persisted page registered through the first."""
    one, other = pair
    document = fresh(PAGE)
    async with (
        httpx.AsyncClient(base_url=one.base, timeout=30) as first,
        httpx.AsyncClient(base_url=other.base, timeout=30) as second,
    ):
        registered = await first.post("/graphql", json={"query": document, "extensions": apq(sha256(document))})
        assert registered.status_code == 200, registered.text
        yield first, second, document


async def test_after_update_product_through_one_process_the_other_never_answers_the_old_product(
    pair: tuple[Served, Served],
) -> None:
    async with clients(pair) as (first, second, document):
        await update_and_watch(first, second, document, await served_from_memory(second, document))
        # and the other way round
        await update_and_watch(second, first, document, await served_from_memory(first, document))


async def test_the_bound_holds_when_the_invalidation_channel_is_lost(
    pair: tuple[Served, Served], sources: Sources
) -> None:
    other = pair[1]
    async with clients(pair) as (first, second, document):
        old = await served_from_memory(second, document)
        name = f"gateway-pubsub-{other.proc.pid}"
        (connection,) = [c for c in await sources.redis.client.client_list() if c.get("name") == name]
        await sources.redis.client.client_kill_filter(_id=connection["id"])  # no message reaches it now
        await update_and_watch(first, second, document, old)
    log = other.output()
    assert "invalidation channel lost" in log  # it noticed,
    assert "invalidation channel followed again" in log  # and came back
