"""The hook ``guarded()`` (gateway/stores/guard.py) calls once per store round trip, when the call has ended."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway.observability import metrics, otel


def observe_store_call(
    source: str, operation: str, keys: Sequence[Any], seconds: float, error: str | None, target: str | None = None
) -> None:
    """Count it (calls, latency, errors by code; per target for MySQL with replicas) and, when tracing is on,
    record it as a child span."""
    metrics.observe_store_call(source, operation, seconds, error, target)
    otel.store_span(source, operation, len(keys), seconds, error)
