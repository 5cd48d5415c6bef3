"""GET /metrics: the text format, and the counters a request moves, read back as Prometheus reads them."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import httpx

from gateway.jobs.seeding import SeedReport
from gateway.observability import metrics
from tests.conftest import gql, make_test_settings
from tests.http.conftest import serve
from tests.observability.conftest import parse, scrape, total, value

ROOT = Path(__file__).resolve().parents[2]
PRODUCT_PAGE = "query ObsProductPage($id: ID!) { product(id: $id) { id title inventory categories { name } } }"


async def test_metrics_serve_the_text_format(client: httpx.AsyncClient, seeded: SeedReport) -> None:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    samples, types = parse(response.text)
    for name in ("gateway_outbox_pending", "gateway_outbox_oldest_pending_age_seconds", "gateway_outbox_parked"):
        assert types[name] == "gauge"
        assert value(samples, name) >= 0
    assert types["gateway_requests"] == "counter"
    assert types["gateway_request_seconds"] == "histogram"
    assert types["gateway_store_call_seconds"] == "histogram"
    assert types["gateway_dataloader_batch_size"] == "histogram"
    assert "process_cpu_seconds" in types  # the standard process collector rides along


async def test_a_query_moves_the_request_store_cache_and_batch_counters(
    client: httpx.AsyncClient, seeded: SeedReport
) -> None:
    before = await scrape(client)
    body = await gql(client, PRODUCT_PAGE, {"id": "7"}, explain=True)
    after = await scrape(client)
    assert body["data"]["product"]["id"] == "7", body
    explain = body["extensions"]["explain"]

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("gateway_requests_total", operation="ObsProductPage", outcome="ok") == 1
    assert delta("gateway_request_seconds_count", type="query") == 1
    assert delta("gateway_request_seconds_sum", type="query") > 0

    # Every round trip explain lists is counted under its source and operation, and timed under its source. The
    # second scrape's own outbox query (made before it is exposed) adds one MySQL call.
    calls = Counter(
        (source, call["operation"]) for source, entry in explain["sources"].items() for call in entry["calls"]
    )
    assert calls[("mysql", "inventory")] == 1, explain
    for (source, operation), count in calls.items():
        assert delta("gateway_store_calls_total", source=source, operation=operation) == count, (source, operation)
    # The rate limiter sends its charges to Redis in the background (not the request's own round trips): the
    # calls it made between the scrapes, if any, are counted apart under operation="rate_limit".
    background = {"redis": delta("gateway_store_calls_total", source="redis", operation="rate_limit")}
    for source, entry in explain["sources"].items():
        scrape_query = 1 if source == "mysql" else 0
        timed = delta("gateway_store_call_seconds_count", source=source)
        assert timed == entry["roundTrips"] + scrape_query + background.get(source, 0), source
    assert delta("gateway_store_calls_total", source="mysql", operation="outbox_lag") == 1

    product_cache = explain["cache"]["product"]
    assert sum(product_cache.values()) == 1  # one product looked up: a hit, a miss, or bypassed (Redis down)
    for outcome, counted in (("hit", "hits"), ("miss", "misses"), ("bypassed", "bypassed")):
        assert delta("gateway_cache_total", kind="product", outcome=outcome) == product_cache[counted], outcome

    assert delta("gateway_dataloader_batch_size_count", loader="inventory") == 1
    assert delta("gateway_dataloader_batch_size_sum", loader="inventory") == 1  # one key in that batch
    assert delta("gateway_dataloader_batch_size_count", loader="categories_by_product") == 1


async def test_failed_requests_are_counted_with_their_code(client: httpx.AsyncClient) -> None:
    before = await scrape(client)
    invalid = await client.post("/graphql", json={"query": "query ObsBroken { noSuchField }"})
    assert invalid.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    malformed = await client.post("/graphql", content=b"{not json", headers={"Content-Type": "application/json"})
    assert malformed.status_code == 400
    after = await scrape(client)
    failed = {"operation": "ObsBroken", "outcome": "GRAPHQL_VALIDATION_FAILED"}
    assert value(after, "gateway_requests_total", **failed) - value(before, "gateway_requests_total", **failed) == 1
    bad = {"operation": "anonymous", "outcome": "BAD_REQUEST"}
    assert value(after, "gateway_requests_total", **bad) - value(before, "gateway_requests_total", **bad) == 1


async def test_a_store_down_counts_a_partial_request_and_the_store_errors(seeded: SeedReport) -> None:
    settings = make_test_settings(neo4j_url="bolt://127.0.0.1:1")  # nothing listens there: connection refused
    query = 'query ObsPartial { product(id: "7") { id boughtTogether(limit: 3) { id } } }'
    async with serve(settings) as client:
        before = await scrape(client)
        body = (await client.post("/graphql", json={"query": query})).json()
        after = await scrape(client)
    assert body["data"]["product"] == {"id": "7", "boughtTogether": None}, body
    assert body["errors"][0]["extensions"]["code"] == "SOURCE_UNAVAILABLE"
    partial = {"operation": "ObsPartial", "outcome": "partial"}
    assert value(after, "gateway_requests_total", **partial) - value(before, "gateway_requests_total", **partial) == 1
    down = {"source": "neo4j", "code": "SOURCE_UNAVAILABLE"}
    assert value(after, "gateway_store_errors_total", **down) - value(before, "gateway_store_errors_total", **down) >= 1


async def test_the_outbox_gauges_are_left_out_when_mysql_does_not_answer() -> None:
    async with serve(make_test_settings(mysql_url="mysql+asyncmy://gateway@127.0.0.1:1/gateway_test")) as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    samples, types = parse(response.text)
    assert "gateway_outbox_pending" not in types
    assert "gateway_requests" in types
    assert total(samples, "gateway_store_errors_total", source="mysql") >= 1  # the outbox query that failed


def test_metrics_can_be_switched_off() -> None:
    from gateway.http.app import create_app

    app = create_app(make_test_settings(metrics=False))
    assert "/metrics" not in {getattr(route, "path", None) for route in app.routes}
    assert "/metrics" in {getattr(route, "path", None) for route in create_app(make_test_settings()).routes}


def test_breaker_states_become_numbers() -> None:
    text = metrics.exposition(None, {"mysql": "open", "neo4j": "half-open", "redis": "closed", "x": "odd"})
    samples, types = parse(text.decode())
    assert types["gateway_breaker_state"] == "gauge"
    assert value(samples, "gateway_breaker_state", source="mysql") == 2
    assert value(samples, "gateway_breaker_state", source="neo4j") == 1
    assert value(samples, "gateway_breaker_state", source="redis") == 0
    assert ("gateway_breaker_state", (("source", "x"),)) not in samples  # an unknown state is left out
    assert "gateway_outbox_pending" not in types


def test_operation_names_are_bounded() -> None:
    names = metrics._OperationNames()
    names.allow(["Persisted", None, "not a name!"])
    assert [names.label(f"Op{i}") for i in range(metrics.MAX_OPERATION_NAMES)] == [
        f"Op{i}" for i in range(metrics.MAX_OPERATION_NAMES)
    ]
    assert names.label("OneTooMany") == metrics.OTHER
    assert names.label("Op3") == "Op3"  # seen before the limit: still itself
    assert names.label("Persisted") == "Persisted"  # from a manifest: always itself
    assert names.label(None) == metrics.ANONYMOUS
    assert names.label("a" * 65) == metrics.OTHER


def test_multiprocess_mode_sums_every_worker(tmp_path: Path) -> None:
    """With PROMETHEUS_MULTIPROC_DIR, two worker processes' counts add up in one scrape (any worker's)."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    work = (
        "from gateway.observability import metrics\n"
        "metrics.observe_store_call('redis', 'mget product', 0.001, None)\n"
        "metrics.observe_store_call('redis', 'mget product', 0.002, 'TIMEOUT')\n"
    )
    for _ in range(2):
        subprocess.run([sys.executable, "-c", work], env=env, check=True, timeout=60)
    scrape_code = "import sys; from gateway.observability import metrics; sys.stdout.buffer.write(metrics.exposition())"
    done = subprocess.run([sys.executable, "-c", scrape_code], env=env, check=True, capture_output=True, timeout=60)
    samples, _ = parse(done.stdout.decode())
    assert value(samples, "gateway_store_calls_total", source="redis", operation="mget product") == 4
    assert value(samples, "gateway_store_errors_total", source="redis", code="TIMEOUT") == 2
    assert value(samples, "gateway_store_call_seconds_count", source="redis") == 4


def test_clear_multiprocess_dir_drops_earlier_files(tmp_path: Path) -> None:
    directory = tmp_path / "prom"
    metrics.clear_multiprocess_dir(str(directory))
    (directory / "counter_123.db").write_bytes(b"stale")
    (directory / "keep.txt").write_text("not ours")
    metrics.clear_multiprocess_dir(str(directory))
    assert sorted(p.name for p in directory.iterdir()) == ["keep.txt"]
