"""Bulk writes by ``_id`` survive a MongoDB restart under their pooled connections: being idempotent, a write that
meets a connection the server closed is sent once more (gateway/stores/mongo/bulk.py)."""

from __future__ import annotations

import uuid

import pytest

from gateway.config import Settings
from gateway.stores.mongo import bulk
from gateway.stores.mongo.client import MongoSource
from tests.services import services


@pytest.mark.services
async def test_bulk_writes_after_a_restart_reach_the_new_server(settings: Settings) -> None:
    source = MongoSource(settings)  # a client of its own: the pool it made before the restart is all it has
    collection = f"test_bulk_{uuid.uuid4().hex[:8]}"
    try:
        assert await bulk.insert_missing(source, collection, [{"_id": i} for i in range(3)]) == 3
        assert await bulk.id_set(source, collection) == {0, 1, 2}  # several pooled connections in use
        services("restart", "mongodb")
        assert await bulk.delete_ids(source, collection, [0, 1]) == 2
        assert await bulk.insert_missing(source, collection, [{"_id": i} for i in range(5)]) == 4  # 2 is there
        assert await bulk.id_set(source, collection) == {0, 1, 2, 3, 4}
    finally:
        await source.db.drop_collection(collection)
        await source.close()
