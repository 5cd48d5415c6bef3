"""``products(filter: {text})``: MySQL FULLTEXT on the title, best match first, combinable with the other filters,
sorts and paging; compared with MATCH … AGAINST run directly."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import text

from gateway.jobs.seeding import SeedReport
from gateway.stores import Sources
from tests.conftest import gql

PAGE = """
query TextSearch($filter: ProductFilter, $sort: ProductSort, $first: Int, $after: String) {
  products(filter: $filter, sort: $sort, first: $first, after: $after) {
    totalCount
    edges { cursor node { id title price } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


async def search(client: httpx.AsyncClient, **variables: Any) -> dict[str, Any]:
    body = await gql(client, PAGE, variables)
    assert "errors" not in body, body["errors"]
    products: dict[str, Any] = body["data"]["products"]
    return products


async def direct(sources: Sources, words: str, where: str = "") -> list[int]:
    """The ids MySQL's own MATCH … AGAINST ranks, best first, ties by id."""
    sql = (
        "SELECT id FROM products WHERE MATCH(title) AGAINST (:w IN NATURAL LANGUAGE MODE) > 0" + where + " "
        "ORDER BY MATCH(title) AGAINST (:w IN NATURAL LANGUAGE MODE) DESC, id"
    )
    async with sources.mysql.engine.connect() as conn:
        return [row[0] for row in await conn.execute(text(sql), {"w": words})]


async def test_text_ranks_by_relevance_as_mysql_does(
    client: httpx.AsyncClient, sources: Sources, seeded: SeedReport
) -> None:
    expected = await direct(sources, "star wars")
    assert len(expected) > 3
    found = await search(client, filter={"text": "star wars"}, first=100)
    assert found["totalCount"] == len(expected)
    assert [int(edge["node"]["id"]) for edge in found["edges"]] == expected[:100]
    assert found["edges"][0]["node"]["title"] == "Star Wars"


async def test_text_pages_follow_on(client: httpx.AsyncClient, sources: Sources, seeded: SeedReport) -> None:
    expected = await direct(sources, "love")
    first = await search(client, filter={"text": "love"}, first=5)
    second = await search(client, filter={"text": "love"}, first=5, after=first["pageInfo"]["endCursor"])
    ids = [int(e["node"]["id"]) for e in first["edges"] + second["edges"]]
    assert ids == expected[:10]


async def test_text_combines_with_other_filters_and_sorts(
    client: httpx.AsyncClient, sources: Sources, seeded: SeedReport
) -> None:
    cheap = await search(client, filter={"text": "love", "priceMax": "10.00"}, first=100)
    expected = await direct(sources, "love", " AND price_cents <= 1000")
    assert [int(e["node"]["id"]) for e in cheap["edges"]] == expected
    by_price = await search(client, filter={"text": "love"}, sort={"field": "PRICE", "direction": "DESC"}, first=100)
    prices = [(-float(e["node"]["price"]), int(e["node"]["id"])) for e in by_price["edges"]]
    assert prices == sorted(prices, key=lambda p: (p[0], -p[1]))
    assert {int(e["node"]["id"]) for e in by_price["edges"]} == set(await direct(sources, "love"))
    by_rating = await search(client, filter={"text": "love"}, sort={"field": "RATING"}, first=100)
    assert {int(e["node"]["id"]) for e in by_rating["edges"]} == set(await direct(sources, "love"))
    worst_first = await search(
        client, filter={"text": "star wars"}, sort={"field": "RELEVANCE", "direction": "DESC"}, first=100
    )
    assert [int(e["node"]["id"]) for e in worst_first["edges"]] == list(reversed(await direct(sources, "star wars")))


async def test_no_match_is_an_empty_page(client: httpx.AsyncClient, seeded: SeedReport) -> None:
    found = await search(client, filter={"text": "zzyzxqq"})
    assert (found["totalCount"], found["edges"], found["pageInfo"]["hasNextPage"]) == (0, [], False)


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"filter": {"text": "   "}}, "at least one word"),
        ({"filter": {"text": "x" * 201}}, "at most 200"),
        ({"sort": {"field": "RELEVANCE"}}, "needs filter.text"),
    ],
)
async def test_bad_text_is_bad_user_input(
    client: httpx.AsyncClient, seeded: SeedReport, variables: dict[str, Any], message: str
) -> None:
    body = await gql(client, PAGE, variables)
    assert body["data"] is None or body["data"]["products"] is None
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert message in body["errors"][0]["message"]
