"""A Mongo batch is one command on the wire: no getMore, however many keys (checked with PyMongo's monitoring)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from pymongo import AsyncMongoClient, monitoring

from gateway.config import Settings
from gateway.jobs.seeding import SeedReport
from gateway.stores.mongo import reads as mongo_reads
from gateway.stores.mongo.client import MongoSource


class Commands(monitoring.CommandListener):
    def __init__(self) -> None:
        self.names: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name in {"find", "getMore", "aggregate"}:
            self.names.append(event.command_name)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@pytest_asyncio.fixture
async def watched(settings: Settings) -> AsyncIterator[tuple[MongoSource, Commands]]:
    source = MongoSource(settings)
    await source.close()
    commands = Commands()
    source.client = AsyncMongoClient(settings.mongo_url, event_listeners=[commands])
    source.db = source.client[settings.mongo_database]
    source.primary = source.relay = source.db  # the default read preference is the primary's
    yield source, commands
    await source.client.close()


async def test_a_batch_of_every_product_is_one_find(watched: tuple[MongoSource, Commands], seeded: SeedReport) -> None:
    source, commands = watched
    ids = list(range(1, 1683))
    documents = await mongo_reads.product_documents(source, ids)
    metrics = await mongo_reads.metrics(source, [*ids, 999_999])
    assert all(d is not None for d in documents)
    assert metrics[-1] is None
    assert sum(m is not None for m in metrics) == 1682
    assert commands.names == ["find", "find"]
