"""``products``: filters, sorts and cursor paging, each checked against a direct query to the store that owns it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from gateway.jobs.seeding import SeedReport
from gateway.stores import Sources
from gateway.stores.mysql import tables as t
from tests.conftest import gql

SEARCH = """
query ($filter: ProductFilter, $sort: ProductSort, $first: Int!, $after: String) {
  products(filter: $filter, sort: $sort, first: $first, after: $after) {
    totalCount
    edges { cursor node { id } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""


async def search(client: httpx.AsyncClient, **variables: Any) -> dict[str, Any]:
    variables.setdefault("first", 20)
    return await gql(client, SEARCH, variables)


def ids(body: dict[str, Any]) -> list[int]:
    return [int(edge["node"]["id"]) for edge in body["data"]["products"]["edges"]]


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


async def mysql_ids(sources: Sources, statement: Any) -> list[int]:
    async with sources.mysql.engine.connect() as conn:
        return [row[0] for row in await conn.execute(statement)]


async def test_paging_through_everything_visits_each_product_once(
    client: httpx.AsyncClient, sources: Sources, seeded: SeedReport
) -> None:
    seen: list[int] = []
    after = None
    pages = 0
    while True:
        body = await search(client, first=500, after=after)
        connection = body["data"]["products"]
        assert connection["totalCount"] == 1682
        seen += ids(body)
        pages += 1
        assert connection["pageInfo"]["hasPreviousPage"] is (after is not None)
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    assert pages == 4  # 500 + 500 + 500 + 182: the last page says there is no next one
    assert seen == await mysql_ids(sources, select(t.products.c.id).order_by(t.products.c.id))

    # After the last cursor: an empty page, not an error.
    last = (await search(client, first=500, after=after))["data"]["products"]["pageInfo"]["endCursor"]
    beyond = await search(client, first=10, after=last)
    assert "errors" not in beyond
    assert ids(beyond) == []
    assert beyond["data"]["products"]["pageInfo"] == {
        "hasNextPage": False,
        "hasPreviousPage": True,
        "startCursor": None,
        "endCursor": None,
    }


async def test_first_zero_is_an_empty_page_with_the_total(client: httpx.AsyncClient, seeded: SeedReport) -> None:
    body = await search(client, first=0)
    assert ids(body) == []
    assert body["data"]["products"]["totalCount"] == 1682
    assert body["data"]["products"]["pageInfo"]["hasNextPage"] is True


@pytest.mark.parametrize("first", [-1, 1001])
async def test_page_size_out_of_range_is_bad_user_input(
    client: httpx.AsyncClient, seeded: SeedReport, first: int
) -> None:
    body = await search(client, first=first)
    assert body["data"] is None
    assert codes(body) == ["BAD_USER_INPUT"]


@pytest.mark.parametrize("cursor", ["garbage", "!!!", "b3JkZXI6MTox", "cHJvZHVjdDp4Onl5eQ", "A" * 500])
async def test_bad_cursor_is_bad_user_input(client: httpx.AsyncClient, seeded: SeedReport, cursor: str) -> None:
    body = await search(client, after=cursor)
    assert codes(body) == ["BAD_USER_INPUT"], body
    assert "cursor" in body["errors"][0]["message"]


async def test_cursor_of_another_sort_is_refused(client: httpx.AsyncClient, seeded: SeedReport) -> None:
    first = await search(client, first=5, sort={"field": "PRICE"})
    cursor = first["data"]["products"]["pageInfo"]["endCursor"]
    body = await search(client, first=5, after=cursor, sort={"field": "TITLE"})
    assert codes(body) == ["BAD_USER_INPUT"]


async def test_category_price_and_year_filters_match_mysql(
    client: httpx.AsyncClient, sources: Sources, seeded: SeedReport
) -> None:
    async with sources.mysql.engine.connect() as conn:
        comedy = (await conn.execute(select(t.categories.c.id).where(t.categories.c.name == "Comedy"))).scalar_one()
    p, pc = t.products, t.product_categories
    expected = await mysql_ids(
        sources,
        select(p.c.id)
        .join(pc, pc.c.product_id == p.c.id)
        .where(pc.c.category_id == comedy, p.c.price_cents.between(1000, 1500), p.c.release_year.between(1990, 1995))
        .order_by(p.c.price_cents.desc(), p.c.id.desc()),
    )
    body = await search(
        client,
        first=1000,
        filter={"categoryId": str(comedy), "priceMin": "10.00", "priceMax": 15, "yearMin": 1990, "yearMax": 1995},
        sort={"field": "PRICE", "direction": "DESC"},
    )
    assert "errors" not in body, body
    assert len(expected) > 10
    assert ids(body) == expected
    assert body["data"]["products"]["totalCount"] == len(expected)


async def test_root_category_holds_every_product_below_it(client: httpx.AsyncClient, seeded: SeedReport) -> None:
    body = await search(client, first=0, filter={"categoryId": "1"})
    assert body["data"]["products"]["totalCount"] == 1682  # "Movies" holds no product itself: only its genres do


async def test_title_sort_matches_mysql(client: httpx.AsyncClient, sources: Sources, seeded: SeedReport) -> None:
    body = await search(client, first=50, sort={"field": "TITLE"})
    expected = await mysql_ids(sources, select(t.products.c.id).order_by(t.products.c.title, t.products.c.id).limit(50))
    assert ids(body) == expected


@pytest.mark.parametrize(("field", "metric"), [("RATING", "rating_avg"), ("POPULARITY", "popularity")])
async def test_metric_sorts_match_mongodb(
    client: httpx.AsyncClient, sources: Sources, seeded: SeedReport, field: str, metric: str
) -> None:
    docs = await sources.mongodb.db.product_metrics.find({}, {metric: 1}).to_list()
    ranked = sorted(docs, key=lambda d: (-(d[metric] if d.get(metric) is not None else float("-inf")), d["_id"]))
    first_page = await search(client, first=30, sort={"field": field, "direction": "DESC"})
    assert ids(first_page) == [d["_id"] for d in ranked[:30]]
    cursor = first_page["data"]["products"]["pageInfo"]["endCursor"]
    second_page = await search(client, first=30, after=cursor, sort={"field": field, "direction": "DESC"})
    assert ids(second_page) == [d["_id"] for d in ranked[30:60]]


async def test_attribute_filters_match_mongodb(client: httpx.AsyncClient, sources: Sources, seeded: SeedReport) -> None:
    english, french = "m.02h40lc", "m.064_8sq"
    coll = sources.mongodb.db.product_attributes
    only_french = sorted(d["_id"] for d in await coll.find({"attributes.language": french}, {"_id": 1}).to_list())
    either = await coll.find({"attributes.language": {"$in": [english, french]}}, {"_id": 1}).to_list()
    of_1995 = await coll.find({"attributes.release_year": 1995, "attributes.language": french}, {"_id": 1}).to_list()

    body = await search(client, first=1000, filter={"attributes": [{"name": "language", "eq": french}]})
    assert ids(body) == only_french
    assert len(only_french) > 5
    body = await search(client, first=1000, filter={"attributes": [{"name": "language", "in": [english, french]}]})
    assert ids(body) == sorted(d["_id"] for d in either)[:1000]
    assert body["data"]["products"]["totalCount"] == len(either) > 1000
    both = [{"name": "release_year", "eq": 1995}, {"name": "language", "eq": french}]
    body = await search(client, first=1000, filter={"attributes": both})
    assert ids(body) == sorted(d["_id"] for d in of_1995)


async def test_attribute_and_mysql_filters_combine(
    client: httpx.AsyncClient, sources: Sources, seeded: SeedReport
) -> None:
    french = "m.064_8sq"
    docs = await sources.mongodb.db.product_attributes.find({"attributes.language": french}, {"_id": 1}).to_list()
    expected = await mysql_ids(
        sources,
        select(t.products.c.id)
        .where(t.products.c.id.in_([d["_id"] for d in docs]), t.products.c.price_cents <= 1200)
        .order_by(t.products.c.id),
    )
    body = await search(
        client, first=1000, filter={"priceMax": "12.00", "attributes": [{"name": "language", "eq": french}]}
    )
    assert ids(body) == expected


async def test_nothing_matches_is_an_empty_connection(client: httpx.AsyncClient, seeded: SeedReport) -> None:
    body = await search(client, filter={"attributes": [{"name": "language", "eq": "no-such-language"}]})
    assert "errors" not in body
    assert body["data"]["products"]["totalCount"] == 0
    assert ids(body) == []


@pytest.mark.parametrize(
    ("attribute", "message"),
    [
        ({"name": "colour", "eq": "red"}, "unknown attribute"),
        ({"name": "$where", "eq": "1 == 1"}, "unknown attribute"),
        ({"name": "attributes.language", "eq": "x"}, "unknown attribute"),
        ({"name": "release_year", "eq": "nineteen"}, "release_year"),
        ({"name": "release_year", "eq": {"$gt": 1990}}, "release_year"),
        ({"name": "language", "eq": ["a", "b"]}, "language"),
        ({"name": "language"}, "exactly one of eq or in"),
        ({"name": "language", "eq": "x", "in": ["y"]}, "exactly one of eq or in"),
        ({"name": "language", "in": []}, "1 to 100"),
    ],
)
async def test_bad_attribute_filters_are_bad_user_input(
    client: httpx.AsyncClient, seeded: SeedReport, attribute: dict[str, Any], message: str
) -> None:
    body = await search(client, filter={"attributes": [attribute]})
    assert body["data"] is None
    assert codes(body) == ["BAD_USER_INPUT"]
    assert message in body["errors"][0]["message"]


@pytest.mark.parametrize(
    "bad_filter",
    [{"priceMin": "-1"}, {"priceMin": "1.999"}, {"priceMin": "abc"}, {"priceMin": "20", "priceMax": "10"}],
)
async def test_bad_price_filters_are_refused(
    client: httpx.AsyncClient, seeded: SeedReport, bad_filter: dict[str, Any]
) -> None:
    body = await search(client, filter=bad_filter)
    assert body.get("data") is None
    assert codes(body) == ["BAD_USER_INPUT"], body
