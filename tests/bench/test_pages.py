"""bench/scale.py's query set against a real `gateway serve` on the test servers' MovieLens data: each page answers
without an error (so the bench never measures error responses as latencies), and the bench's judge and load loop
do count failures as failures."""

from __future__ import annotations

from pathlib import Path

import httpx
import load
import pages
import pytest

from gateway.config import Settings
from gateway.jobs.seeding import SeedReport
from gateway.stores import Sources
from loaders.cached import invalidate
from tests.serving import Served


@pytest.fixture
def served(seeded: SeedReport, tmp_path: Path):  # type: ignore[no-untyped-def]
    server = Served(tmp_path / "serve.log", GATEWAY_LOG_LEVEL="warning")
    yield server
    server.stop()


async def first_order(sources: Sources) -> tuple[int, int]:
    async with sources.mysql.engine.connect() as conn:
        row = (await conn.exec_driver_sql("SELECT id, user_id FROM orders ORDER BY id LIMIT 1")).one()
    return int(row[0]), int(row[1])


def each_page(settings: Settings, product: int, order_id: int, owner: int) -> list[pages.Request]:
    """Product ``product``'s page, then ``owner``'s page and their order ``order_id``'s, both sent as ``owner``."""
    return [
        pages.request("product", product),
        pages.request("user", owner, settings=settings),
        pages.request("order", order_id, owner=owner, settings=settings),
    ]


async def test_each_page_answers_in_full_over_http(served: Served, sources: Sources, settings: Settings) -> None:
    order_id, owner = await first_order(sources)
    # An earlier test (or run, within the TTLs) may have left these in the entity cache: the pages must read the
    # stores this test looks for, not the cache.
    await invalidate(sources, settings, [("product", 50), ("user", owner), ("recommendations", owner)])
    requests = each_page(settings, 50, order_id, owner)
    async with httpx.AsyncClient(base_url=served.base, timeout=30) as http:
        outcomes = {req.kind: await pages.send(http, req, explain=True) for req in requests}

    assert {kind: outcome.error for kind, outcome in outcomes.items()} == dict.fromkeys(pages.KINDS)
    for outcome in outcomes.values():
        assert outcome.ms > 0
        assert outcome.explain is not None
        assert outcome.explain["sources"]["mysql"]["roundTrips"] >= 1
    assert outcomes["product"].explain is not None
    assert {"mongodb", "neo4j"} <= set(outcomes["product"].explain["sources"])  # attributes, boughtTogether
    assert outcomes["user"].explain is not None
    assert "neo4j" in outcomes["user"].explain["sources"]  # recommendations


async def test_the_load_loop_counts_successes_errors_and_memory(
    served: Served, sources: Sources, settings: Settings
) -> None:
    order_id, owner = await first_order(sources)
    good = each_page(settings, 1, order_id, owner)
    bad = [
        pages.request("product", 99_999_999),  # no such product: null with NOT_FOUND
        pages.request("order", order_id, owner=owner + 1, settings=settings),  # someone else's order
    ]

    result = await load.run(served.base, good + bad, 2, served.proc.pid)

    assert result.requests == 5
    assert len(result.ms) == 3  # failures never become latencies
    assert sum(result.errors.values()) == 2
    assert all(kind.startswith("HTTP 200 ") for kind in result.errors), result.errors
    assert result.rss_kib
    assert min(result.rss_kib) > 10_000  # a Python process with the app loaded: over 10 MiB
    assert result.cpu_s is not None
    assert result.cpu_s > 0  # five GraphQL requests take the gateway some CPU
    figures = result.figures()
    assert figures["ok"] == 3
    assert figures["p50_ms"] <= figures["p99_ms"]


def test_judge_names_what_failed() -> None:
    ok = b'{"data": {"product": {"id": "1"}}}'
    error = b'{"message": "x", "extensions": {"code": "TIMEOUT", "source": "neo4j"}}'
    timeout = b'{"data": {"user": null}, "errors": [' + error + b"]}"
    assert pages.judge("product", 200, ok) is None
    assert pages.judge("user", 200, timeout) == "HTTP 200 TIMEOUT neo4j"
    assert pages.judge("product", 200, b'{"data": {"product": null}}') == "HTTP 200 product null"
    assert pages.judge("order", 502, b"<html>bad gateway</html>") == "HTTP 502 not JSON"
    assert pages.judge("order", 400, b'{"errors": [{"message": "bad"}]}') == "HTTP 400 errors"
