"""The report collections (written by gateway/jobs/reports.py, read by the admin queries) and the stream of events
a build aggregates. Days are UTC dates as ``YYYY-MM-DD`` (they sort as text).

    report_daily_sales  {_id: "day:category", day, category_id (0: every category), orders, units, revenue_cents}
    report_products     {_id: "day:product", day, product_id, views, cart_adds, purchases}
    report_searches     {_id: "day:terms", day, terms, count, zero_results}
    report_state        {_id: "reports", built_through: day, built_at}

A build replaces whole days: it upserts every document of the days it computed, tagged with its build id, then
deletes the documents of those days that carry another build id (a key that no longer occurs). Rebuilding a day
from the same events and orders writes the same documents: builds are idempotent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from pymongo import ReplaceOne

from gateway.stores.guard import bulk_bound, guarded
from gateway.stores.mongo.client import DRIVER_ERRORS, Document, MongoSource
from gateway.stores.mongo.schema import EVENTS

DAILY_SALES = "report_daily_sales"
PRODUCTS = "report_products"
SEARCHES = "report_searches"
STATE = "report_state"
REPORTS = (DAILY_SALES, PRODUCTS, SEARCHES, STATE)

_CHUNK = 5_000  # documents per bulk write
_STREAM_BATCH = 10_000  # events per reply while streaming
_WINDOW = timedelta(days=7)  # events per query: a week's
_LONGEST = timedelta(days=365)


async def events_between(source: MongoSource, since: datetime, until: datetime) -> AsyncIterator[Document]:
    """The events of [since, until) that the reports count (views, cart adds, purchases, searches), streamed in
    batches (a build never holds them all), one query per window of time: the local server materialises a
    query's whole result before its first reply (one query over 1M events ran it out of memory). A window is a week;
    after an empty one the next is twice as long (at most a year), so that years without events cost few queries."""
    projection = {"_id": 0, "type": 1, "product_id": 1, "ts": 1, "terms": 1, "results": 1}
    start, window = since, _WINDOW
    while start < until:
        end = min(start + window, until)
        found = False
        query = {"ts": {"$gte": start, "$lt": end}, "type": {"$in": ["view", "add_to_cart", "purchase", "search"]}}
        cursor = source.db[EVENTS].find(query, projection, batch_size=_STREAM_BATCH)
        while True:
            batch = await guarded(
                source,
                bulk_bound(source, 120),
                cursor.to_list(_STREAM_BATCH),
                DRIVER_ERRORS,
                operation="report_events",
            )
            if not batch:
                break
            found = True
            for doc in batch:
                yield doc
        start = end
        window = _WINDOW if found else min(window * 2, _LONGEST)


async def replace_days(
    source: MongoSource, collection: str, docs: Sequence[Document], first_day: str, last_day: str, build: str
) -> None:
    """Make ``docs`` the whole content of ``collection`` for the days [first_day, last_day]."""
    bound = bulk_bound(source, 120)
    for start in range(0, len(docs), _CHUNK):
        chunk = docs[start : start + _CHUNK]
        requests = [ReplaceOne({"_id": doc["_id"]}, {**doc, "build": build}, upsert=True) for doc in chunk]
        await guarded(
            source,
            bound,
            source.db[collection].bulk_write(requests, ordered=False),
            DRIVER_ERRORS,
            operation="report_write",
        )
    stale = {"day": {"$gte": first_day, "$lte": last_day}, "build": {"$ne": build}}
    await guarded(source, bound, source.db[collection].delete_many(stale), DRIVER_ERRORS, operation="report_prune")


async def read_days(source: MongoSource, collection: str, first_day: str, last_day: str) -> list[Document]:
    query = {"day": {"$gte": first_day, "$lte": last_day}}

    async def run() -> list[Document]:
        return await source.db[collection].find(query, {"build": 0}).to_list()

    return await guarded(source, source.timeout, run(), DRIVER_ERRORS, operation=f"{collection}_read")


async def state(source: MongoSource) -> Document | None:
    found: Document | None = await guarded(
        source, source.timeout, source.db[STATE].find_one({"_id": "reports"}), DRIVER_ERRORS, operation="report_state"
    )
    return found


async def save_state(source: MongoSource, built_through: str, built_at: datetime) -> Any:
    doc = {"_id": "reports", "built_through": built_through, "built_at": built_at}
    return await guarded(
        source,
        source.timeout,
        source.db[STATE].replace_one({"_id": "reports"}, doc, upsert=True),
        DRIVER_ERRORS,
        operation="report_state_save",
    )


async def first_event_at(source: MongoSource) -> datetime | None:
    async def run() -> datetime | None:
        pipeline: list[Document] = [{"$group": {"_id": None, "first": {"$min": "$ts"}}}]
        docs = await (await source.db[EVENTS].aggregate(pipeline)).to_list()
        first: datetime | None = docs[0]["first"] if docs else None
        return first

    return await guarded(source, bulk_bound(source, 120), run(), DRIVER_ERRORS, operation="report_first_event")
