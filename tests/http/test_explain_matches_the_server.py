"""Explain's MySQL round trips are the statements the server really ran (its own ``Com_select`` counter)."""

from __future__ import annotations

import httpx
from sqlalchemy import text

from gateway.config import Settings
from gateway.jobs.seeding import SeedReport
from gateway.stores import Sources
from loaders.cached import invalidate
from tests.conftest import gql, round_trips

RICH = """
{
  user(id: "13") {
    name profile { favoriteGenres }
    orders(first: 20) { totalCount nodes { items { product { title inventory categories { name parent { name } } } } } }
    similarUsers(limit: 3) { name }
  }
  products(first: 15, filter: { yearMin: 1990 }, sort: { field: PRICE }) { totalCount nodes { title inventory } }
  order(id: "42") { user { name } items { product { title } } }
}
"""


async def _com_select(sources: Sources) -> int:
    async with sources.mysql.engine.connect() as conn:
        row = (await conn.execute(text("SHOW GLOBAL STATUS LIKE 'Com_select'"))).one()  # SHOW is not counted
    return int(row[1])


async def test_explain_counts_what_mysql_counts(
    client: httpx.AsyncClient, sources: Sources, seeded: SeedReport
) -> None:
    await gql(client, RICH, admin=True)  # warm: connections opened (and initialised) before counting
    await gql(client, RICH, admin=True)
    before = await _com_select(sources)
    body = await gql(client, RICH, explain=True, admin=True)
    after = await _com_select(sources)
    assert "errors" not in body, body
    explained = round_trips(body)["mysql"]
    assert explained >= 8
    assert after - before == explained


async def test_explain_lists_keys_and_time_per_call(
    client: httpx.AsyncClient, sources: Sources, settings: Settings, seeded: SeedReport
) -> None:
    await invalidate(sources, settings, [("product", 7), ("product", 3)])  # both misses: fetched from MySQL
    body = await gql(client, '{ a: product(id: "7") { title } b: product(id: "3") { title } }', explain=True)
    mysql = body["extensions"]["explain"]["sources"]["mysql"]
    assert mysql["roundTrips"] == 1
    assert mysql["keys"] == 2
    (call,) = mysql["calls"]
    assert call["operation"] == "products_by_id"
    assert sorted(call["keys"]) == [3, 7]
    assert call["keyCount"] == 2
    assert call["timeMs"] > 0
