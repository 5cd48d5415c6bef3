"""The outbox relay: applies MySQL's outbox events to Neo4j and MongoDB, at least once, idempotently.

A rating (``rating.upserted``) also brings its user's profile statistics along: the rating count and average are
recomputed from MySQL once per round for every rater, and written to the profiles that exist.

Each round claims a batch (a lease, no lock held while other stores are called: gateway/stores/mysql/outbox.py),
applies the events, and marks them processed. A store that is down (SourceError) puts the event back with
backoff, without counting an attempt: it is delayed, never parked. Any other failure is the event's own (a bad
payload, an unknown type): it counts, and after ``relay_max_attempts`` the event is parked, reported, and no
longer holds up its aggregate. Several relays may run at once.

Once a round has marked its events processed, the order status changes among them are published on Redis pub/sub
for ``orderStatusChanged`` subscribers (gateway/jobs/order_events.py): best effort, a failure is logged and does
not fail the round.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gateway.config import Settings
from gateway.errors import SourceError
from gateway.jobs import order_events
from gateway.jobs.product_metrics import metrics_documents
from gateway.jobs.profile_stats import rating_stats
from gateway.stores import Sources
from gateway.stores.mongo import projection as mongo_projection
from gateway.stores.mongo.client import Document
from gateway.stores.mongo.documents import Event, UserProfile, parse
from gateway.stores.mysql import outbox as mysql_outbox
from gateway.stores.mysql.outbox import OutboxEvent
from gateway.stores.neo4j import projection as cypher
from gateway.stores.redis import cache as redis_cache
from gateway.stores.redis import carts as redis_carts
from loaders.cached import invalidate, keys_for

log = logging.getLogger("gateway.relay")

# Events one relay applies at once: the few whose Neo4j writes are their own (users, products). Orders, their
# cancellations and ratings go to Neo4j once per round, in one transaction (gateway/stores/neo4j/projection.py), and
# every MongoDB write once per round, one command per collection (gateway/stores/mongo/projection.py). Bounded
# well below the driver's pool of 100 connections, which the app shares when the relay runs in `gateway serve`.
APPLY_CONCURRENCY = 32


@dataclass(slots=True)
class RoundReport:
    applied: list[int] = field(default_factory=list)
    delayed: list[int] = field(default_factory=list)
    parked: list[int] = field(default_factory=list)


@dataclass(slots=True)
class Deferred:
    """An applied event's writes that the round makes once for all its events: its graph rows (Neo4j, one
    transaction), then its MongoDB documents."""

    orders: list[dict[str, Any]] = field(default_factory=list)  # PURCHASED edges to merge, per order
    cancelled: list[int] = field(default_factory=list)  # orders whose PURCHASED edges go
    ratings: list[dict[str, Any]] = field(default_factory=list)  # RATED edges to merge
    events: list[Document] = field(default_factory=list)
    metrics: set[int] = field(default_factory=set)
    raters: set[int] = field(default_factory=set)  # users whose profile statistics are recomputed
    cached: set[tuple[str, int]] = field(default_factory=set)  # entity cache entries of derived data to drop
    published: list[order_events.StatusChange] = field(default_factory=list)  # once the event is marked processed


class BadEvent(Exception):
    """The event itself cannot be applied (its payload or type): retrying the same event will not help."""


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _event(event: OutboxEvent, product_id: int, fields: dict[str, Any]) -> Document:
    """A behaviour event derived from an outbox event, keyed by it: a replay inserts nothing twice."""
    doc = parse(Event, fields).model_dump(by_alias=True, exclude_none=True)
    return {**doc, "_id": f"outbox:{event.id}:{product_id}"}


class Relay:
    def __init__(self, sources: Sources, settings: Settings, name: str | None = None) -> None:
        self.sources = sources
        self.settings = settings
        self.name = name or f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"
        self.timeout = settings.write_timeout_s

    async def run_once(self) -> RoundReport:
        """Claim one batch and apply it; an empty report when nothing is due."""
        report = RoundReport()
        events = await mysql_outbox.claim(
            self.sources.mysql,
            self.timeout,
            relay=self.name,
            limit=self.settings.relay_batch_size,
            lease_s=self.settings.relay_lease_s,
        )
        gate = asyncio.Semaphore(APPLY_CONCURRENCY)

        async def bounded(event: OutboxEvent) -> Deferred | BaseException:
            async with gate:
                return await self._apply_one(event)

        outcomes = await asyncio.gather(*(bounded(event) for event in events))
        applied = [(e, o) for e, o in zip(events, outcomes, strict=True) if isinstance(o, Deferred)]
        failed = [(e, o) for e, o in zip(events, outcomes, strict=True) if not isinstance(o, Deferred)]
        graph = [(e, work) for e, work in applied if work.orders or work.cancelled or work.ratings]
        try:
            await self._write_graph([work for _, work in graph])
        except Exception as exc:  # the round's graph writes failed: every event that needed them goes back
            failed += [(event, exc) for event, _ in graph]
            applied = [(e, work) for e, work in applied if not (work.orders or work.cancelled or work.ratings)]
        try:
            await self._flush([work for _, work in applied])
        except Exception as exc:  # the round's MongoDB writes failed: every event that needed them goes back
            failed += [(event, exc) for event, _ in applied]
            applied = []
        done = [event.id for event, _ in applied]
        await mysql_outbox.mark_done(self.sources.mysql, self.timeout, relay=self.name, ids=done)
        report.applied.extend(done)
        for event, failure in failed:
            await self._put_back(event, failure, report)
        changes = sorted((c for _, work in applied for c in work.published), key=lambda c: c.event_id)
        if changes:
            await order_events.publish(self.sources, self.settings, changes)
        return report

    async def drain(self, *, max_rounds: int = 10_000, idle_rounds: int = 3) -> RoundReport:
        """Apply until nothing is due: ``idle_rounds`` rounds in a row claim nothing (another relay may hold
        what is due for a moment). Events put back for later do not keep the drain going."""
        total = RoundReport()
        idle = 0
        for _ in range(max_rounds):
            report = await self.run_once()
            total.applied += report.applied
            total.delayed += report.delayed
            total.parked += report.parked
            idle = 0 if report.applied or report.parked else idle + 1
            if idle >= idle_rounds:
                break
            if idle:
                await asyncio.sleep(self.settings.relay_idle_s / 4)
        return total

    async def run_forever(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                report = await self.run_once()
            except SourceError as exc:  # MySQL itself is down: wait for it
                log.warning("relay %s: %s (%s)", self.name, exc, exc.detail)
                report = RoundReport()
            if not report.applied:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.settings.relay_idle_s)

    async def _apply_one(self, event: OutboxEvent) -> Deferred | BaseException:
        try:
            return await self.apply(event)
        except Exception as exc:
            return exc

    async def _write_graph(self, works: list[Deferred]) -> None:
        """The round's purchases, cancellations and ratings, in outbox order, in one Neo4j transaction."""
        if not works:
            return
        await cypher.write_round(
            self.sources.neo4j,
            self.timeout,
            orders=[row for work in works for row in work.orders],
            cancelled=[order for work in works for order in work.cancelled],
            ratings=[row for work in works for row in work.ratings],
        )

    async def _flush(self, works: list[Deferred]) -> None:
        """The round's deferred MongoDB writes: behaviour events, then metrics recomputed once per product; then the
        cache entries holding derived data they changed (dropping them cannot fail the round: logged, and the
        entries expire with their TTL)."""
        events = [doc for work in works for doc in work.events]
        await mongo_projection.add_events(self.sources.mongodb, self.timeout, events)
        product_ids = sorted({pid for work in works for pid in work.metrics})
        if product_ids:
            docs = await metrics_documents(self.sources.mysql, product_ids)
            await mongo_projection.replace_metrics(self.sources.mongodb, self.timeout, docs)
        raters = sorted({user for work in works for user in work.raters})
        if raters:
            stats = await rating_stats(self.sources.mysql, raters)
            await mongo_projection.set_profile_stats(self.sources.mongodb, self.timeout, stats)
        dropped = {("product", pid) for pid in product_ids}.union(*(work.cached for work in works))
        dropped.update(("user", user) for user in raters)
        await invalidate(self.sources, self.settings, sorted(dropped))

    async def _put_back(self, event: OutboxEvent, failure: BaseException, report: RoundReport) -> None:
        counts = not isinstance(failure, SourceError)
        attempts = event.attempts + (1 if counts else 0)
        delay = min(self.settings.relay_backoff_s * 2 ** min(attempts, 8), 60.0)
        detail = failure.detail if isinstance(failure, SourceError) else repr(failure)
        parked = await mysql_outbox.retry(
            self.sources.mysql,
            self.timeout,
            relay=self.name,
            event=event,
            delay_s=delay,
            error=f"{type(failure).__name__}: {detail}",
            counts=counts,
            max_attempts=self.settings.relay_max_attempts,
        )
        if parked:
            log.error("relay %s parked outbox event %s (%s): %r", self.name, event.id, event.event_type, failure)
            report.parked.append(event.id)
        else:
            report.delayed.append(event.id)

    # ------------------------------------------------------------------ what each event does
    async def apply(self, event: OutboxEvent) -> Deferred:
        """Apply the event's own writes; what it needs of Neo4j's purchase and rating edges and of MongoDB's events
        and metrics is returned, to be written once for the whole round (metrics are recomputed from MySQL, so one
        recompute serves every event)."""
        handler = getattr(self, "_" + event.event_type.replace(".", "_"), None)
        if handler is None:
            raise BadEvent(f"unknown event type {event.event_type!r}")
        payload = event.payload if isinstance(event.payload, dict) else None
        if payload is None:
            raise BadEvent("payload is not an object")
        work = Deferred()
        try:
            await handler(event, payload, work)
        except (KeyError, TypeError, ValueError) as exc:
            raise BadEvent(f"bad payload: {exc!r}") from exc
        return work

    async def _order_created(self, event: OutboxEvent, p: dict[str, Any], work: Deferred) -> None:
        lines = [[int(pid), int(qty)] for pid, qty in p["lines"]]
        at = _when(p["at"])
        work.orders.append({"user_id": int(p["user_id"]), "order_id": int(p["order_id"]), "lines": lines, "at": at})
        user_id = int(p["user_id"])
        events = [
            _event(event, pid, {"user_id": user_id, "type": "purchase", "product_id": pid, "quantity": qty, "ts": at})
            for pid, qty in lines
        ]
        work.events += events
        work.metrics.update(pid for pid, _ in lines)
        work.cached.add(("recommendations", int(p["user_id"])))
        work.published.append(order_events.change_of(event.id, event.event_type, p))

    async def _order_cancelled(self, event: OutboxEvent, p: dict[str, Any], work: Deferred) -> None:
        work.cancelled.append(int(p["order_id"]))
        work.metrics.update(int(pid) for pid in p["product_ids"])
        work.cached.add(("recommendations", int(p["user_id"])))
        work.published.append(order_events.change_of(event.id, event.event_type, p))

    async def _order_status_changed(self, event: OutboxEvent, p: dict[str, Any], work: Deferred) -> None:
        work.published.append(
            order_events.change_of(event.id, event.event_type, p)
        )  # nothing derived in the other stores: only subscribers

    async def _rating_upserted(self, event: OutboxEvent, p: dict[str, Any], work: Deferred) -> None:
        work.ratings.append(
            {
                "user_id": int(p["user_id"]),
                "product_id": int(p["product_id"]),
                "rating": int(p["rating"]),
                "at": _when(p["at"]),
            }
        )
        work.metrics.add(int(p["product_id"]))
        work.raters.add(int(p["user_id"]))  # the profile's statistics, recomputed from MySQL
        work.cached.add(("recommendations", int(p["user_id"])))
        rate = {
            "user_id": int(p["user_id"]),
            "type": "rate",
            "product_id": int(p["product_id"]),
            "rating": int(p["rating"]),
            "ts": _when(p["at"]),
        }
        work.events.append(_event(event, int(p["product_id"]), rate))

    async def _user_registered(self, event: OutboxEvent, p: dict[str, Any], work: Deferred) -> None:
        user_id = int(p["user_id"])
        await cypher.write(self.sources.neo4j, self.timeout, "user", [user_id], cypher.USER, user_id=user_id)
        profile = parse(UserProfile, {"_id": user_id, "preferences": p.get("preferences", {}), "stats": {}})
        await mongo_projection.ensure_profile(self.sources.mongodb, self.timeout, profile.to_mongo())
        work.raters.add(user_id)  # ratings the relay applied before the profile existed count too
        work.cached.update({("user", user_id), ("recommendations", user_id)})

    async def _user_deleted(self, event: OutboxEvent, p: dict[str, Any], work: Deferred) -> None:
        """deleteUser: the graph node with its edges, the MongoDB profile and events, and what Redis holds of the
        user (carts, the checkout lock, rate-limit buckets, cached entries). Each step is idempotent and every store
        must answer: one that is down delays the event, which is applied in full once it is back."""
        user_id = int(p["user_id"])
        await cypher.write(self.sources.neo4j, self.timeout, "user_delete", [user_id], cypher.NO_USER, user_id=user_id)
        sessions = await mongo_projection.forget_user(self.sources.mongodb, self.timeout, user_id)
        limits = f"{self.settings.cache_namespace}:{self.settings.mysql_database}:rl:"
        keys = [redis_carts.user_key(user_id), redis_carts.checkout_lock_key(user_id)]
        keys += [f"{limits}{role}:{user_id}" for role in ("user", "admin")]
        keys += [redis_carts.guest_key(session) for session in sessions]
        keys += [f"{limits}session:{session}" for session in sessions]
        await redis_carts.delete_keys(self.sources.redis, keys)
        entries = [(kind, user_id) for kind in ("user", "recommendations", "orders_of")]
        await redis_cache.invalidate(self.sources.redis, keys_for(self.settings), entries)  # raises when down
        work.metrics.update(int(pid) for pid in p.get("rated_product_ids", []))  # their ratings are gone
        work.cached.update(entries)

    async def _product_updated(self, event: OutboxEvent, p: dict[str, Any], work: Deferred) -> None:
        await cypher.write(
            self.sources.neo4j,
            self.timeout,
            "product",
            [p["product_id"]],
            cypher.PRODUCT,
            product_id=int(p["product_id"]),
            title=str(p["title"]),
            category_ids=[int(c) for c in p["category_ids"]],
        )
        work.cached.add(("product", int(p["product_id"])))

    async def _product_created(self, event: OutboxEvent, p: dict[str, Any], work: Deferred) -> None:
        await self._product_updated(event, p, work)  # the same node and edges: MERGE

    async def _product_deleted(self, event: OutboxEvent, p: dict[str, Any], work: Deferred) -> None:
        product_id = int(p["product_id"])
        await cypher.write(
            self.sources.neo4j, self.timeout, "product_delete", [product_id], cypher.NO_PRODUCT, product_id=product_id
        )
        await mongo_projection.forget_product(self.sources.mongodb, self.timeout, product_id)
        work.cached.add(("product", product_id))
