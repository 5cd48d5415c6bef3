"""Neo4j reads run as READ transactions (a cluster routes them to followers), writes as WRITE ones, and one
process's reads and writes share a bookmark manager. A standalone server enforces the access mode too: a write
sent in a READ transaction is refused, which is how these tests see the mode that reached the server."""

from __future__ import annotations

import pytest

from gateway.errors import SourceError
from gateway.jobs.seeding import SeedReport
from gateway.stores import Sources
from gateway.stores.neo4j import bulk, projection, reads
from gateway.stores.neo4j.client import DRIVER_ERRORS

PROBE = "MERGE (n:RoutingProbe {id: 1}) RETURN n.id AS key, [] AS items"


async def test_the_read_path_runs_read_transactions(sources: Sources, seeded: SeedReport) -> None:
    rows = await reads.records(sources.neo4j, "probe", (), "RETURN 1 AS one", {})
    assert rows == [{"one": 1}]
    with pytest.raises(SourceError) as caught:
        await reads.records(sources.neo4j, "probe", (), PROBE, {})
    assert "read" in str(caught.value.detail).lower(), caught.value.detail
    with pytest.raises(DRIVER_ERRORS, match="read access mode"):
        await sources.neo4j.read_query("MERGE (n:RoutingProbe {id: 1})")
    assert await sources.neo4j.read_query("MATCH (n:RoutingProbe) RETURN count(n) AS n") == [{"n": 0}]


async def test_writes_run_write_transactions_and_move_the_bookmarks(sources: Sources, seeded: SeedReport) -> None:
    source = sources.neo4j
    before = set(await source.bookmarks.get_bookmarks())
    try:
        await projection.write(source, 5.0, "probe", [1], "MERGE (:RoutingProbe {id: $id})", id=1)
        after_write = set(await source.bookmarks.get_bookmarks())
        assert after_write
        assert after_write != before
        # The bulk writes (seeding, repair) are WRITE queries on the same bookmarks.
        assert await bulk.run(source, "MATCH (n:RoutingProbe {id: $id}) SET n.seen = true", id=1) == 0
        assert set(await source.bookmarks.get_bookmarks()) != after_write
        # A read after the write, with the write's bookmarks, sees it.
        assert await source.read_query("MATCH (n:RoutingProbe) RETURN n.seen AS seen") == [{"seen": True}]
        # Reconcile's key sets are READ queries.
        with pytest.raises(DRIVER_ERRORS):
            await bulk._keys(source, "MERGE (n:RoutingProbe {id: 2}) RETURN n.id AS k")
        assert await bulk._keys(source, "MATCH (n:RoutingProbe) RETURN n.id AS k") == {1}
    finally:
        await bulk.run(source, "MATCH (n:RoutingProbe) DETACH DELETE n")
