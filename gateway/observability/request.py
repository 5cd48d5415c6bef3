"""One GraphQL request over HTTP as operators see it: counted, timed, traced, and its id on every log line.

``instrumented(endpoint)`` wraps the view's endpoint. For the request's duration a ``RequestRecord`` is current
(a context variable, so DataLoader tasks started by the request see it too); the view fills it in:
``bind()`` once the request has an id and a trace, ``note_body()`` with each GraphQL body it answers; the schema
extension ``OperationName`` adds the operation's name and type. When the endpoint returns, the record becomes
``gateway_requests_total{operation, outcome}``, ``gateway_request_seconds{type}``, the cache counters of its
trace and, when tracing is on, the attributes of the request's span.

Outcomes: ``ok`` (no errors), ``partial`` (data with errors), the first error's ``extensions.code`` when there
is no data (BAD_REQUEST, GRAPHQL_VALIDATION_FAILED, UNAUTHENTICATED, TIMEOUT…), or the HTTP status class
(``2xx``, ``5xx``…) of an answer that is no GraphQL body (the GraphiQL page, an unexpected exception).
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from gateway.observability import metrics, otel
from gateway.trace import Trace

Endpoint = Callable[[Request], Awaitable[Response]]

_CODE = re.compile(r"^[A-Z][A-Z0-9_]{0,47}$")


@dataclass(slots=True)
class RequestRecord:
    request_id: str | None = None
    trace: Trace | None = None
    operation_name: str | None = None
    operation_type: str | None = None
    outcome: str | None = None


current: ContextVar[RequestRecord | None] = ContextVar("gateway_request", default=None)


def request_id() -> str | None:
    """The id of the request running in this context, if any (what every log line of it carries)."""
    record = current.get()
    return record.request_id if record is not None else None


def bind(request_id: str, trace: Trace, operation_name: str | None = None) -> None:
    """The request's id and trace, and the operation name it asked for (the schema extension may refine it)."""
    if (record := current.get()) is not None:
        record.request_id, record.trace, record.operation_name = request_id, trace, operation_name


def note_operation(name: str | None, operation_type: str | None) -> None:
    if (record := current.get()) is not None:
        record.operation_name, record.operation_type = name, operation_type


def note_body(body: Mapping[str, Any]) -> None:
    """The outcome of a GraphQL response body the view is about to send."""
    if (record := current.get()) is not None:
        record.outcome = outcome_of(body)


def outcome_of(body: Mapping[str, Any]) -> str:
    errors = body.get("errors")
    if not errors:
        return "ok"
    if body.get("data") is not None:
        return "partial"
    first = errors[0] if isinstance(errors, list) and isinstance(errors[0], Mapping) else {}
    code = (first.get("extensions") or {}).get("code")
    return code if isinstance(code, str) and _CODE.match(code) else "INTERNAL_SERVER_ERROR"


_NO_SPAN = contextlib.nullcontext(None)


def instrumented(endpoint: Endpoint) -> Endpoint:
    async def observed(request: Request) -> Response:
        record = RequestRecord()
        token = current.set(record)
        started = time.perf_counter()
        status = 500
        with otel.request_span() if otel.enabled() else _NO_SPAN as span:
            try:
                response = await endpoint(request)
                status = response.status_code
                return response
            finally:
                outcome = _outcome(record, status)
                if span is not None:
                    otel.finish_request(
                        span,
                        operation=record.operation_name,
                        operation_type=record.operation_type,
                        outcome=outcome,
                        status=status,
                        request_id=record.request_id,
                    )
                _count(record, outcome, time.perf_counter() - started)
                current.reset(token)

    return observed


def _outcome(record: RequestRecord, status: int) -> str:
    if record.outcome is not None:
        return record.outcome
    # No body seen: a response-cache hit sent as stored (only error-free results are stored), or no GraphQL answer.
    if record.trace is not None and status < 400:
        return "ok"
    return f"{status // 100}xx"


def _count(record: RequestRecord, outcome: str, seconds: float) -> None:
    metrics.observe_request(
        operation=record.operation_name, operation_type=record.operation_type, outcome=outcome, seconds=seconds
    )
    if record.trace is None:
        return
    for kind, counts in record.trace.cache.items():
        metrics.observe_cache(kind, "hit", counts.get("hits", 0))
        metrics.observe_cache(kind, "miss", counts.get("misses", 0))
        metrics.observe_cache(kind, "bypassed", counts.get("bypassed", 0))
    if record.trace.response_cache is not None:
        metrics.observe_cache("response", record.trace.response_cache)
    if record.trace.persisted is not None:
        metrics.observe_cache("persisted", record.trace.persisted)
