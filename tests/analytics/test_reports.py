"""Report builds (gateway/jobs/reports.py) and the admin queries over them, each compared with a direct computation
from MySQL's orders and MongoDB's events; builds are idempotent and incremental, and one process builds at a time
(the Redis lease)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest_asyncio
from sqlalchemy import text

from gateway.config import Settings
from gateway.jobs.reports import LEASE, ReportsJob, build
from gateway.jobs.seeding import SeedReport
from gateway.stores import Sources
from gateway.stores.mongo import reports as mongo_reports
from gateway.stores.mongo.recorder import EventRecorder
from gateway.stores.mongo.schema import EVENTS
from gateway.stores.redis import leases
from tests.conftest import gql, make_test_settings

# Events of a window of their own: no other test records anything in 2001.
FIRST, LAST = date(2001, 2, 1), date(2001, 2, 3)
SALES_FIRST, SALES_LAST = date(1998, 3, 1), date(1998, 3, 31)  # MovieLens orders

SALES = """
query Sales($from: Date!, $to: Date!, $by: SalesGroupBy!) {
  salesReport(from: $from, to: $to, groupBy: $by) { day orders units revenue category { id name } }
}
"""
FUNNEL = """
query Funnel($from: Date!, $to: Date!) {
  funnel(from: $from, to: $to) {
    views cartAdds purchases viewToCart cartToPurchase
    products(limit: 100) { views cartAdds purchases product { id } }
  }
}
"""
TOP_SEARCHES = """
query TopSearches($from: Date!, $to: Date!) { topSearches(from: $from, to: $to, limit: 3) { terms count zeroResults } }
"""
GATEWAY = str(Path(sys.executable).with_name("gateway"))
WINDOW = {"from": FIRST.isoformat(), "to": LAST.isoformat()}


def at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour)


@pytest_asyncio.fixture(scope="module")
async def events(sources: Sources, seeded: SeedReport) -> list[dict[str, Any]]:
    """A funnel of a few products over three days, with searches; written through a recorder of the test's own."""
    window = {"ts": {"$gte": at(FIRST, 0), "$lt": at(LAST + timedelta(days=1), 0)}}
    await sources.mongodb.db[EVENTS].delete_many(window)
    recorder = EventRecorder(sources.mongodb, make_test_settings())
    for i, day in enumerate((FIRST, FIRST + timedelta(days=1), LAST)):
        for n in range(6 + i):
            recorder.record("view", user_id=3, product_id=50, ts=at(day, 10 + n % 5))
        for n in range(3):
            recorder.record("view", session_id="reports-guest-0001", product_id=181 + n, ts=at(day, 11))
        recorder.record("add_to_cart", user_id=3, product_id=50, quantity=2, ts=at(day, 12))
        recorder.record("add_to_cart", user_id=4, product_id=181, quantity=1, ts=at(day, 12))
        recorder.record("purchase", user_id=3, product_id=50, quantity=2, ts=at(day, 13))
        recorder.record("search", user_id=3, terms="Star Wars", results=7, ts=at(day, 9))
        recorder.record("search", user_id=4, terms="star wars", results=7, ts=at(day, 9))
        recorder.record("search", session_id="reports-guest-0001", terms="zzyzxqq", results=0, ts=at(day, 9))
        recorder.record("remove_from_cart", user_id=4, product_id=181, ts=at(day, 14))
    recorder.record("search", user_id=5, terms="alien", results=3, ts=at(LAST, 23))
    await recorder.close()
    found: list[dict[str, Any]] = await sources.mongodb.db[EVENTS].find(window).to_list()
    return found


async def test_funnel_and_top_searches_match_the_events(
    client: httpx.AsyncClient, sources: Sources, events: list[dict[str, Any]]
) -> None:
    report = await build(sources, FIRST, until=LAST)
    assert report.events == len([e for e in events if e["type"] != "remove_from_cart"])
    per_product: dict[int, Counter[str]] = defaultdict(Counter)
    for event in events:
        if event["type"] in ("view", "add_to_cart", "purchase"):
            per_product[event["product_id"]][event["type"]] += 1
    funnel = (await gql(client, FUNNEL, WINDOW, admin=True))["data"]["funnel"]
    views = sum(c["view"] for c in per_product.values())
    adds = sum(c["add_to_cart"] for c in per_product.values())
    bought = sum(c["purchase"] for c in per_product.values())
    assert (funnel["views"], funnel["cartAdds"], funnel["purchases"]) == (views, adds, bought)
    assert funnel["viewToCart"] == adds / views
    assert funnel["cartToPurchase"] == bought / adds
    assert {int(p["product"]["id"]): (p["views"], p["cartAdds"], p["purchases"]) for p in funnel["products"]} == {
        pid: (c["view"], c["add_to_cart"], c["purchase"]) for pid, c in per_product.items()
    }
    assert funnel["products"][0]["product"]["id"] == "50"  # most viewed first

    searched: Counter[str] = Counter(e["terms"].lower() for e in events if e["type"] == "search")
    nothing: Counter[str] = Counter(e["terms"].lower() for e in events if e["type"] == "search" and not e["results"])
    expected = sorted(searched.items(), key=lambda item: (-item[1], item[0]))[:3]
    top = (await gql(client, TOP_SEARCHES, WINDOW, admin=True))["data"]["topSearches"]
    assert [(t["terms"], t["count"], t["zeroResults"]) for t in top] == [(t, n, nothing[t]) for t, n in expected]
    assert top[0] == {"terms": "star wars", "count": 6, "zeroResults": 0}


async def test_one_day_of_the_window(client: httpx.AsyncClient, sources: Sources, events: list[dict[str, Any]]) -> None:
    await build(sources, FIRST, until=LAST)
    day = {"from": LAST.isoformat(), "to": LAST.isoformat()}
    funnel = (await gql(client, FUNNEL, day, admin=True))["data"]["funnel"]
    assert funnel["views"] == len([e for e in events if e["type"] == "view" and e["ts"].date() == LAST])


async def direct_sales(sources: Sources, by: str) -> list[tuple[Any, ...]]:
    """Sales of SALES_FIRST..SALES_LAST straight from MySQL, as the report should group them."""
    group = {"DAY": "DATE(o.created_at)", "CATEGORY": "pc.category_id"}[by]
    join = "JOIN product_categories pc ON pc.product_id = i.product_id" if by == "CATEGORY" else ""
    sql = (
        f"SELECT {group} AS g, COUNT(DISTINCT o.id), SUM(i.quantity), SUM(i.quantity * i.unit_price_cents) "
        f"FROM orders o JOIN order_items i ON i.order_id = o.id {join} "
        "WHERE o.status <> 'cancelled' AND o.created_at >= :a AND o.created_at < :b GROUP BY g"
    )
    window = {"a": at(SALES_FIRST, 0), "b": at(SALES_LAST + timedelta(days=1), 0)}
    async with sources.mysql.engine.connect() as conn:
        return [tuple(row) for row in await conn.execute(text(sql), window)]


def cents(money: str) -> int:
    return int(Decimal(money) * 100)


async def test_sales_report_matches_mysql(client: httpx.AsyncClient, sources: Sources, seeded: SeedReport) -> None:
    await build(sources, SALES_FIRST, until=SALES_LAST)
    window = {"from": SALES_FIRST.isoformat(), "to": SALES_LAST.isoformat()}
    by_day = (await gql(client, SALES, {**window, "by": "DAY"}, admin=True))["data"]["salesReport"]
    expected = sorted((d.isoformat(), n, int(u), int(r)) for d, n, u, r in await direct_sales(sources, "DAY"))
    assert len(expected) > 20
    assert [(r["day"], r["orders"], r["units"], cents(r["revenue"])) for r in by_day] == expected
    assert all(r["category"] is None for r in by_day)
    by_category = (await gql(client, SALES, {**window, "by": "CATEGORY"}, admin=True))["data"]["salesReport"]
    expected_categories = {c: (n, int(u), int(r)) for c, n, u, r in await direct_sales(sources, "CATEGORY")}
    assert {
        int(r["category"]["id"]): (r["orders"], r["units"], cents(r["revenue"])) for r in by_category
    } == expected_categories
    assert [cents(r["revenue"]) for r in by_category] == sorted(
        (cents(r["revenue"]) for r in by_category), reverse=True
    )
    both = (await gql(client, SALES, {**window, "by": "DAY_AND_CATEGORY"}, admin=True))["data"]["salesReport"]
    assert sum(r["units"] for r in both) == sum(u for _, u, _ in expected_categories.values())


async def test_builds_are_idempotent_and_incremental(sources: Sources, events: list[dict[str, Any]]) -> None:
    async def written() -> dict[str, list[dict[str, Any]]]:
        days = (FIRST.isoformat(), LAST.isoformat())
        return {
            name: sorted(await mongo_reports.read_days(sources.mongodb, name, *days), key=lambda d: d["_id"])
            for name in (mongo_reports.PRODUCTS, mongo_reports.SEARCHES)
        }

    await build(sources, FIRST, until=LAST)
    once = await written()
    await build(sources, FIRST, until=LAST)
    assert await written() == once
    # without --since, a build starts the day before the last one ended
    report = await build(sources, until=LAST + timedelta(days=1))
    assert (report.first_day, report.last_day) == (LAST - timedelta(days=1), LAST + timedelta(days=1))
    assert await written() == once
    # a day whose events are gone is emptied by its next build
    await sources.mongodb.db[EVENTS].delete_many({"terms": "alien", "user_id": 5})
    await build(sources, LAST, until=LAST)
    after = await written()
    assert [d["terms"] for d in after[mongo_reports.SEARCHES] if d["day"] == LAST.isoformat()] == [
        "star wars",
        "zzyzxqq",
    ]


async def test_one_process_builds_at_a_time(sources: Sources, seeded: SeedReport) -> None:
    settings = make_test_settings(reports_interval_s=60, reports_lease_s=60)
    await sources.redis.client.delete(leases.key(LEASE))
    try:
        jobs = [ReportsJob(sources, settings) for _ in range(3)]
        outcomes = await asyncio.gather(*(job.run_once() for job in jobs))
        assert sum(outcome is not None for outcome in outcomes) == 1
        assert await jobs[0].run_once() is None  # the builder keeps the lease for the interval
        assert 0 < await sources.redis.client.ttl(leases.key(LEASE)) <= 60
    finally:
        await sources.redis.client.delete(leases.key(LEASE))


async def test_reports_are_for_admins_and_bounded(client: httpx.AsyncClient, seeded: SeedReport) -> None:
    guest = await client.post("/graphql", json={"query": FUNNEL, "variables": WINDOW})
    assert guest.status_code == 401
    user = await gql(client, TOP_SEARCHES, WINDOW, user=3)
    assert user["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    backwards = await gql(client, FUNNEL, {"from": "2001-02-03", "to": "2001-02-01"}, admin=True)
    assert backwards["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    too_long = await gql(client, FUNNEL, {"from": "2001-01-01", "to": "2003-01-01"}, admin=True)
    assert "at most 400 days" in too_long["errors"][0]["message"]


async def test_the_reports_build_command(sources: Sources, settings: Settings, events: list[dict[str, Any]]) -> None:
    """``gateway reports build --since`` as an operator runs it, on the test databases."""
    env = {
        **os.environ,
        "GATEWAY_MYSQL_URL": settings.mysql_url,
        "GATEWAY_MONGO_DATABASE": settings.mongo_database,
        "GATEWAY_REDIS_URL": settings.redis_url,
    }
    command = [GATEWAY, "reports", "build", "--since", LAST.isoformat()]
    done = await asyncio.to_thread(subprocess.run, command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"reports: {LAST.isoformat()} .. " in done.stdout
    found = await mongo_reports.read_days(sources.mongodb, mongo_reports.SEARCHES, LAST.isoformat(), LAST.isoformat())
    day = {"type": "search", "ts": {"$gte": at(LAST, 0), "$lt": at(LAST + timedelta(days=1), 0)}}
    assert sum(d["count"] for d in found) == await sources.mongodb.db[EVENTS].count_documents(day) > 0
    bad = await asyncio.to_thread(
        subprocess.run, [GATEWAY, "reports", "build", "--since", "March"], env=env, capture_output=True, text=True
    )
    assert bad.returncode == 2
    assert "invalid fromisoformat value" in bad.stderr
