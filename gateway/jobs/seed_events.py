"""``gateway seed --with-events``: the behaviour events of a seeded dataset's orders (gateway/jobs/datasets/events.py)
written to MongoDB's ``events``, in chunks; each event keyed by its order and product, so a second run adds none."""

from __future__ import annotations

from itertools import islice

from gateway.jobs.datasets.events import dataset_events
from gateway.jobs.datasets.rows import Dataset
from gateway.stores import Sources
from gateway.stores.guard import bulk_bound
from gateway.stores.mongo import projection
from gateway.stores.mongo.documents import Event, parse


async def seed_events(sources: Sources, dataset: Dataset, chunk: int = 5000) -> int:
    """Write the dataset's events (those already there are left as they are); how many were offered."""
    offered = 0
    events = dataset_events(dataset)
    timeout = bulk_bound(sources.mongodb, 120)
    while batch := list(islice(events, chunk)):
        for doc in batch:
            parse(Event, {k: v for k, v in doc.items() if k != "_id"})
        await projection.add_events(sources.mongodb, timeout, batch)
        offered += len(batch)
    return offered
