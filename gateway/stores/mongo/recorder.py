"""The behaviour-event recorder: events are appended to a bounded buffer in memory, and a background task writes
them to MongoDB's ``events`` in batches. Recording is a few microseconds of CPU and never waits for MongoDB, never
raises and never fails the request that records (docs/analytics.md).

- **Batches.** The task writes at most ``events_batch_size`` events per ``insert_many``, as soon as a batch is full
  or ``events_flush_interval_s`` after the first event of a batch, whichever comes first.
- **Bounded.** At most ``events_buffer_size`` events wait. When the buffer is full, new events are dropped and
  counted (``gateway_events_total{outcome="dropped_full"}``).
- **A MongoDB outage.** A batch that fails goes back to the head of the buffer and the task waits (doubling, at
  most 5 s) before trying again: nothing is lost while the buffer has room, i.e. for the first
  ``events_buffer_size`` events of an outage; later ones are dropped and counted. Every event has its ``_id``
  from the moment it is recorded, so a batch that was written but whose answer was lost (a timeout) is written
  again without duplicates (the duplicate-key errors are ignored).
- **Forgotten users.** An event of a user that deleteUser forgot meanwhile (buffered before, or recorded from a
  token still valid after) is deleted right after its batch is written, and counted as ``dropped_forgotten``.
- **Shutdown.** ``close()`` writes what is buffered, within the store's time bound; what is left is dropped and
  counted (``dropped_shutdown``). A process that is killed loses its buffer: at most ``events_buffer_size``
  events, normally the last ``events_flush_interval_s`` worth of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections import deque
from datetime import UTC, datetime

from bson import ObjectId
from pymongo.errors import BulkWriteError

from gateway.config import Settings
from gateway.errors import SourceError
from gateway.observability.metrics import observe_events
from gateway.stores.guard import guarded
from gateway.stores.mongo.client import DRIVER_ERRORS, Document, MongoSource
from gateway.stores.mongo.documents import Event, EventType
from gateway.stores.mongo.schema import EVENTS, FORGOTTEN_USERS

log = logging.getLogger("gateway.events")

DUPLICATE_KEY = 11000
MAX_BACKOFF_S = 5.0


class EventRecorder:
    """One per MongoDB client (``MongoSource.events``); its task starts with the first event recorded inside a
    running event loop."""

    def __init__(self, source: MongoSource, settings: Settings) -> None:
        self.source = source
        self.enabled = settings.events_recording
        self.capacity = settings.events_buffer_size
        self.batch_size = settings.events_batch_size
        self.interval = settings.events_flush_interval_s
        self._buffer: deque[Document] = deque()
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._writing: asyncio.Lock | None = None
        self._closed = False

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def record(
        self,
        type: EventType,
        *,
        user_id: int | None = None,
        session_id: str | None = None,
        device: str | None = None,
        product_id: int | None = None,
        terms: str | None = None,
        results: int | None = None,
        quantity: int | None = None,
        ts: datetime | None = None,
    ) -> None:
        """Buffer one event (or drop it, counted, when the buffer is full). Never raises, never waits."""
        if not self.enabled:
            return
        if len(self._buffer) >= self.capacity or self._closed:
            observe_events("dropped_full" if not self._closed else "dropped_shutdown")
            return
        doc: Document = {"_id": ObjectId(), "type": type, "ts": ts or datetime.now(UTC).replace(tzinfo=None)}
        if user_id is not None:
            doc["user_id"] = user_id
        if session_id is not None:
            doc["session_id"] = session_id
        if device is not None:
            doc["device"] = device
        if product_id is not None:
            doc["product_id"] = product_id
        if terms is not None:
            doc["terms"] = terms
        if results is not None:
            doc["results"] = results
        if quantity is not None:
            doc["quantity"] = quantity
        self._buffer.append(doc)
        self._started()
        if len(self._buffer) >= self.batch_size and self._wake is not None:
            self._wake.set()

    def _started(self) -> None:
        if self._task is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (a synchronous caller): the events wait for flush() or close()
            return
        self._wake = asyncio.Event()
        self._writing = asyncio.Lock()
        # A context of its own: started from a request, the task must not record its writes in that request's trace.
        self._task = loop.create_task(self._run(), name="events-recorder", context=contextvars.Context())

    async def _run(self) -> None:
        assert self._wake is not None
        failures = 0
        while True:
            if len(self._buffer) < self.batch_size:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.interval)
            self._wake.clear()
            if await self.flush():
                failures = 0
                continue
            failures += 1
            await asyncio.sleep(min(self.interval * 2**failures, MAX_BACKOFF_S))

    async def flush(self) -> bool:
        """Write every event buffered now, a batch at a time; False when MongoDB failed (the failed batch is back at
        the head of the buffer). Tests call it to see their events at once."""
        if self._writing is None:
            self._writing = asyncio.Lock()
        async with self._writing:
            pending = len(self._buffer)
            while pending > 0 and self._buffer:
                batch = [self._buffer.popleft() for _ in range(min(self.batch_size, len(self._buffer)))]
                pending -= len(batch)
                try:
                    await self._write(batch)
                except SourceError as exc:
                    self._buffer.extendleft(reversed(batch))
                    log.warning("events: %d buffered, MongoDB failed: %s (%s)", len(self._buffer), exc, exc.detail)
                    return False
                except asyncio.CancelledError:  # stopped mid-write (close): the batch is written again, by id
                    self._buffer.extendleft(reversed(batch))
                    raise
                except Exception:  # not MongoDB being down: the batch itself (a bug); never retried forever
                    log.exception("events: a batch of %d could not be written and is dropped", len(batch))
                    observe_events("dropped_error", len(batch))
        return True

    async def _write(self, batch: list[Document]) -> None:
        docs = [doc for doc in batch if _valid(doc)]
        if len(docs) < len(batch):
            observe_events("dropped_error", len(batch) - len(docs))
        if not docs:
            return
        forgotten = await guarded(
            self.source,
            self.source.timeout,
            _insert_new(self.source, docs),
            DRIVER_ERRORS,
            operation="events_record",
            keys=(),
        )
        if forgotten:
            observe_events("dropped_forgotten", forgotten)
        observe_events("written", len(docs) - forgotten)

    async def close(self) -> None:
        """Stop the task and write what is buffered (bounded by the store's timeout); count the rest as dropped."""
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._buffer:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.flush(), self.source.timeout * 2)
        if self._buffer:
            log.warning("events: %d buffered events dropped at shutdown", len(self._buffer))
            observe_events("dropped_shutdown", len(self._buffer))
            self._buffer.clear()


def _valid(doc: Document) -> bool:
    """Checked by the Event model before it is written, as every MongoDB document is (off the request path)."""
    try:
        Event.model_validate({key: value for key, value in doc.items() if key != "_id"})
    except ValueError:
        log.error("events: invalid event dropped: %r", doc)
        return False
    return True


async def _insert_new(source: MongoSource, docs: list[Document]) -> int:
    """Insert the batch; ids already there (a retried batch that had been written) are ignored. Then the events of
    users forgotten meanwhile are deleted again: deleteUser writes the user's tombstone before it deletes the
    events, and this looks for tombstones after inserting, so one of the two always sees the other's write. Answers
    how many of the batch's events were such."""
    try:
        await source.db[EVENTS].insert_many(docs, ordered=False)
    except BulkWriteError as exc:
        if any(error.get("code") != DUPLICATE_KEY for error in exc.details.get("writeErrors", [])):
            raise
        if exc.details.get("writeConcernErrors"):
            raise
    users = sorted({doc["user_id"] for doc in docs if doc.get("user_id") is not None})
    if not users:
        return 0
    forgotten = {doc["_id"] async for doc in source.db[FORGOTTEN_USERS].find({"_id": {"$in": users}}, {"_id": 1})}
    if not forgotten:
        return 0
    ids = [doc["_id"] for doc in docs if doc.get("user_id") in forgotten]
    await source.db[EVENTS].delete_many({"_id": {"$in": ids}})
    return len(ids)
