"""Reports (ETL): the behaviour events (MongoDB) and the orders (MySQL) aggregated per UTC day into MongoDB's report
collections (gateway/stores/mongo/reports.py), which the admin queries read (docs/analytics.md).

- daily sales: orders (not cancelled), units and revenue per day and category, and per day in all;
- products: views, cart adds and purchases per day and product (the funnel, and the top products);
- searches: how often each search text was searched per day, and how often it found nothing.

A build recomputes whole days, from ``since`` through today, and replaces what the collections held for them:
running it twice writes the same documents (idempotent). Without ``since`` it starts the day before the last build
ended (``report_state``), which catches the events written late (the recorder's buffer, the relay's lag); a first
build starts at the first order or event. Events are streamed, so memory holds only the per-day counts.

``gateway reports build [--since DAY]`` runs one; inside ``gateway serve`` (``GATEWAY_REPORTS_IN_SERVE``) a build
runs every ``GATEWAY_REPORTS_INTERVAL_S`` in the one process that takes the Redis lease ``lease:reports``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from gateway.config import Settings
from gateway.errors import SourceError
from gateway.stores import Sources
from gateway.stores.mongo import reports as mongo_reports
from gateway.stores.mongo.client import Document
from gateway.stores.mysql import reports as mysql_reports
from gateway.stores.redis import leases

log = logging.getLogger("gateway.reports")

LEASE = "reports"
_COUNTED = {"view": 0, "add_to_cart": 1, "purchase": 2}


@dataclass(frozen=True, slots=True)
class BuildReport:
    first_day: date
    last_day: date
    events: int
    sales: int  # documents written per collection
    products: int
    searches: int
    seconds: float

    def line(self) -> str:
        return (
            f"reports: {self.first_day} .. {self.last_day}: {self.events} events, {self.sales} sales, "
            f"{self.products} product and {self.searches} search documents in {self.seconds:.1f} s"
        )


def today() -> date:
    return datetime.now(UTC).date()


def _start(day: date) -> datetime:
    """Midnight UTC of ``day``, naive (as MySQL and the events store times)."""
    return datetime(day.year, day.month, day.day)


async def _first_day(sources: Sources) -> date | None:
    state = await mongo_reports.state(sources.mongodb)
    if state is not None:
        return date.fromisoformat(state["built_through"]) - timedelta(days=1)
    firsts = [
        at
        for at in (
            await mysql_reports.first_order_at(sources.mysql),
            await mongo_reports.first_event_at(sources.mongodb),
        )
        if at is not None
    ]
    return min(firsts).date() if firsts else None


async def build(sources: Sources, since: date | None = None, *, until: date | None = None) -> BuildReport:
    """Recompute the days [since, until] (until: today) and replace them in the report collections."""
    started = time.perf_counter()
    last = until or today()
    first = since or await _first_day(sources) or last
    first = min(first, last)
    window = (_start(first), _start(last + timedelta(days=1)))
    build_id = uuid.uuid4().hex

    names = await mysql_reports.category_names(sources.mysql)
    sales: list[Document] = [
        {
            "_id": f"{row.day.isoformat()}:{row.category_id}",
            "day": row.day.isoformat(),
            "category_id": row.category_id,
            "category": names.get(row.category_id),
            "orders": row.orders,
            "units": row.units,
            "revenue_cents": row.revenue_cents,
        }
        for row in await mysql_reports.daily_sales(sources.mysql, *window)
    ]

    products: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0, 0])
    searches: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    events = 0
    async for event in mongo_reports.events_between(sources.mongodb, *window):
        events += 1
        day = event["ts"].date().isoformat()
        kind = event["type"]
        if kind == "search":
            terms = event.get("terms")
            if terms:
                counts = searches[(day, terms.lower())]
                counts[0] += 1
                counts[1] += event.get("results") == 0
        elif (product_id := event.get("product_id")) is not None:
            products[(day, product_id)][_COUNTED[kind]] += 1

    product_docs: list[Document] = [
        {"_id": f"{day}:{pid}", "day": day, "product_id": pid, "views": v, "cart_adds": a, "purchases": p}
        for (day, pid), (v, a, p) in sorted(products.items())
    ]
    search_docs: list[Document] = [
        {"_id": f"{day}:{terms}", "day": day, "terms": terms, "count": n, "zero_results": zero}
        for (day, terms), (n, zero) in sorted(searches.items())
    ]
    days = (first.isoformat(), last.isoformat())
    await mongo_reports.replace_days(sources.mongodb, mongo_reports.DAILY_SALES, sales, *days, build_id)
    await mongo_reports.replace_days(sources.mongodb, mongo_reports.PRODUCTS, product_docs, *days, build_id)
    await mongo_reports.replace_days(sources.mongodb, mongo_reports.SEARCHES, search_docs, *days, build_id)
    await mongo_reports.save_state(sources.mongodb, last.isoformat(), datetime.now(UTC).replace(tzinfo=None))
    return BuildReport(
        first, last, events, len(sales), len(product_docs), len(search_docs), time.perf_counter() - started
    )


class ReportsJob:
    """The periodic build inside ``gateway serve``: every interval, the process that takes the lease builds, then
    keeps the lease for the rest of the interval, so that one build runs per interval whatever the processes."""

    def __init__(self, sources: Sources, settings: Settings) -> None:
        self.sources = sources
        self.settings = settings
        self.holder = f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"

    async def run_once(self) -> BuildReport | None:
        """A build if this process took the lease; None when another holds it."""
        redis, settings = self.sources.redis, self.settings
        if not await leases.acquire(redis, LEASE, self.holder, settings.reports_lease_s):
            return None
        try:
            report = await build(self.sources)
        except BaseException:
            with contextlib.suppress(SourceError):
                await leases.hold(redis, LEASE, self.holder, 0)  # let another process try at once
            raise
        await leases.hold(redis, LEASE, self.holder, settings.reports_interval_s)
        log.info("%s", report.line())
        return report

    async def run_forever(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.run_once()
            except SourceError as exc:
                log.warning("reports: build failed, a store did not answer: %s (%s)", exc, exc.detail)
            except Exception:
                log.exception("reports: build failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.settings.reports_interval_s)
