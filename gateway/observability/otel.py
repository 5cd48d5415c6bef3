"""OpenTelemetry tracing, off unless configured: nothing of OpenTelemetry is imported until ``configure`` is called.

When on, every GraphQL request over HTTP is a SERVER span (named "<type> <operation>", with the operation's name,
type and outcome, the HTTP status and the request id) and every store round trip inside it a CLIENT child span
("<source> <operation>": ``db.system``, ``db.operation.name``, the number of keys, ``error.type`` when it failed).
Store spans are recorded when the call has ended, from the same hook in ``guarded()`` that counts it, with the
call's real start and end times; store calls outside a request make none.

``GATEWAY_OTEL_ENDPOINT`` (an OTLP/HTTP collector, e.g. ``http://collector:4318``; ``/v1/traces`` is appended
unless the URL names a path) turns it on at start. The provider is the gateway's own, not OpenTelemetry's global
one; its resource honours ``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES`` (default name: polyglot-gateway).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Span, Tracer

SERVICE_NAME = "polyglot-gateway"
DB_SYSTEM = {"mysql": "mysql", "mongodb": "mongodb", "neo4j": "neo4j", "redis": "redis"}

_SUCCESSES = frozenset({"ok", "partial", "2xx", "3xx"})

_provider: TracerProvider | None = None
_tracer: Tracer | None = None


def traces_url(endpoint: str) -> str:
    """The OTLP/HTTP traces URL of a collector: ``/v1/traces`` added when ``endpoint`` names no path."""
    if urlsplit(endpoint).path.strip("/"):
        return endpoint
    return endpoint.rstrip("/") + "/v1/traces"


def configure(endpoint: str | None = None, *, exporter: SpanExporter | None = None) -> None:
    """Spans to the OTLP/HTTP collector at ``endpoint`` (batched), or to ``exporter`` as each span ends (tests hand
    an ``InMemorySpanExporter``); neither: tracing off. A provider configured earlier is shut down (flushed)."""
    global _provider, _tracer
    if _provider is not None:
        _provider.shutdown()
    _provider, _tracer = None, None
    if endpoint is None and exporter is None:
        return
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": SERVICE_NAME}))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        assert endpoint is not None
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=traces_url(endpoint))))
    _provider, _tracer = provider, provider.get_tracer("gateway")


def enabled() -> bool:
    return _tracer is not None


@contextmanager
def request_span() -> Iterator[Span | None]:
    """The span of one GraphQL request, current for the block (store spans become its children); None when off."""
    if _tracer is None:
        yield None
        return
    from opentelemetry.trace import SpanKind

    with _tracer.start_as_current_span("graphql.request", kind=SpanKind.SERVER) as span:
        yield span


def finish_request(
    span: Span,
    *,
    operation: str | None,
    operation_type: str | None,
    outcome: str,
    status: int,
    request_id: str | None,
) -> None:
    from opentelemetry.trace import Status, StatusCode

    span.update_name(" ".join(part for part in (operation_type or "graphql", operation) if part))
    attributes: dict[str, Any] = {
        "graphql.operation.type": operation_type or "",
        "gateway.outcome": outcome,
        "http.response.status_code": status,
    }
    if operation:
        attributes["graphql.operation.name"] = operation
    if request_id:
        attributes["gateway.request_id"] = request_id
    span.set_attributes(attributes)
    if outcome not in _SUCCESSES:
        span.set_status(Status(StatusCode.ERROR, outcome))


def store_span(source: str, operation: str, key_count: int, seconds: float, error: str | None) -> None:
    """A child span of the current one for a store round trip that has just ended, ``seconds`` long. Calls made
    outside a traced request (the relay polling the outbox, a /metrics scrape) make no span: they would be noise."""
    if _tracer is None:
        return
    from opentelemetry.trace import SpanKind, Status, StatusCode, get_current_span

    if not get_current_span().get_span_context().is_valid:
        return

    end = time.time_ns()
    attributes: dict[str, Any] = {
        "db.system": DB_SYSTEM.get(source, source),
        "db.operation.name": operation,
        "gateway.source": source,
        "gateway.key_count": key_count,
    }
    span = _tracer.start_span(
        f"{source} {operation}".strip(),
        kind=SpanKind.CLIENT,
        attributes=attributes,
        start_time=end - int(seconds * 1e9),
    )
    if error is not None:
        span.set_attribute("error.type", error)
        span.set_status(Status(StatusCode.ERROR, error))
    span.end(end_time=end)
