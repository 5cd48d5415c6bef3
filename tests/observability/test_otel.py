"""OpenTelemetry: a span per GraphQL request and a child span per store round trip, when configured."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from gateway.jobs.seeding import SeedReport
from gateway.observability import otel
from tests.conftest import gql, make_test_settings
from tests.http.conftest import serve

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    otel.configure(exporter=exporter)
    try:
        yield exporter
    finally:
        otel.configure(None)


async def test_a_request_span_with_a_child_per_store_call(
    client: httpx.AsyncClient, seeded: SeedReport, spans: InMemorySpanExporter
) -> None:
    query = "query ObsTraced($id: ID!) { product(id: $id) { id inventory categories { name } } }"
    body = await gql(client, query, {"id": "9"}, explain=True, headers={"X-Request-Id": "obs-trace-0001"})
    finished = spans.get_finished_spans()
    requests = [span for span in finished if span.kind is SpanKind.SERVER]
    assert len(requests) == 1, finished
    request = requests[0]
    assert request.name == "query ObsTraced"
    assert request.attributes is not None
    assert request.attributes["graphql.operation.name"] == "ObsTraced"
    assert request.attributes["graphql.operation.type"] == "query"
    assert request.attributes["gateway.outcome"] == "ok"
    assert request.attributes["gateway.request_id"] == "obs-trace-0001"
    assert request.attributes["http.response.status_code"] == 200

    stores = [span for span in finished if span.kind is SpanKind.CLIENT]
    assert all(span.parent is not None and span.parent.span_id == request.context.span_id for span in stores)
    assert all(span.context.trace_id == request.context.trace_id for span in stores)
    explain = body["extensions"]["explain"]["sources"]
    explained = sorted(
        (source, call["operation"], call["keyCount"]) for source, e in explain.items() for call in e["calls"]
    )
    traced = sorted(
        (s.attributes["gateway.source"], s.attributes["db.operation.name"], s.attributes["gateway.key_count"])
        for s in stores
        if s.attributes is not None
    )
    assert traced == explained
    inventory = next(s for s in stores if s.name == "mysql inventory")
    assert inventory.attributes is not None
    assert inventory.attributes["db.system"] == "mysql"
    assert inventory.start_time is not None
    assert inventory.end_time is not None
    assert request.start_time is not None
    assert request.end_time is not None
    assert request.start_time <= inventory.start_time < inventory.end_time <= request.end_time


async def test_a_failed_store_call_is_an_error_span(seeded: SeedReport, spans: InMemorySpanExporter) -> None:
    query = 'query ObsTracedDown { product(id: "9") { id boughtTogether(limit: 2) { id } } }'
    async with serve(make_test_settings(neo4j_url="bolt://127.0.0.1:1")) as client:
        body = (await client.post("/graphql", json={"query": query})).json()
    assert body["data"]["product"]["boughtTogether"] is None, body
    finished = spans.get_finished_spans()
    neo4j = [s for s in finished if s.kind is SpanKind.CLIENT and s.attributes and s.attributes["db.system"] == "neo4j"]
    assert neo4j, finished
    assert all(s.status.status_code is StatusCode.ERROR for s in neo4j)
    assert all(s.attributes is not None and s.attributes["error.type"] == "SOURCE_UNAVAILABLE" for s in neo4j)
    request = next(s for s in finished if s.kind is SpanKind.SERVER)
    assert request.attributes is not None
    assert request.attributes["gateway.outcome"] == "partial"


async def test_no_span_once_tracing_is_off(client: httpx.AsyncClient, seeded: SeedReport) -> None:
    exporter = InMemorySpanExporter()
    otel.configure(exporter=exporter)
    otel.configure(None)
    await gql(client, 'query ObsUntraced { product(id: "9") { id } }')
    assert exporter.get_finished_spans() == ()
    assert not otel.enabled()


def test_tracing_off_loads_neither_the_tracing_sdk_nor_the_exporter() -> None:
    """(redis-py imports parts of opentelemetry by itself when it is installed: its metrics API, not tracing.)"""
    code = (
        "import sys\n"
        "from gateway.http.app import create_app\n"
        "from gateway.config import Settings\n"
        "create_app(Settings())\n"
        "tracing = ('opentelemetry.sdk.trace', 'opentelemetry.exporter')\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(tracing))\n"
        "assert not loaded, loaded\n"
        "create_app(Settings(otel_endpoint='http://127.0.0.1:4318'))\n"
        "assert 'opentelemetry.exporter.otlp.proto.http.trace_exporter' in sys.modules\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("GATEWAY_OTEL_ENDPOINT", None)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_traces_url() -> None:
    assert otel.traces_url("http://collector:4318") == "http://collector:4318/v1/traces"
    assert otel.traces_url("http://collector:4318/") == "http://collector:4318/v1/traces"
    assert otel.traces_url("https://x.example/otlp/v1/traces") == "https://x.example/otlp/v1/traces"
