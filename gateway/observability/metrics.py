"""Prometheus metrics of the running gateway (GET /metrics), kept apart from gateway/jobs/product_metrics.py.

Every name starts with ``gateway_``; every label takes a bounded set of values, never an id:

    gateway_requests_total{operation, outcome}         GraphQL requests over HTTP
    gateway_request_seconds{type}                      their latency (type: query, mutation, none)
    gateway_store_calls_total{source, operation}       round trips to a store (operation: the code's name for it)
    gateway_store_call_seconds{source}                 their latency
    gateway_store_errors_total{source, code}           the failed ones, by the gateway error code they became
    gateway_store_target_calls_total{source, target, operation}  MySQL with replicas: round trips to the primary
                                                       or a replica (target)
    gateway_cache_total{kind, outcome}                 entity cache hits/misses/bypassed per kind; the response
                                                       cache as kind="response" (hit, miss, stored, bypassed…)
    gateway_dataloader_batch_size{loader}              keys per loader batch
    gateway_operations_total{executor, reason}         operations run by the plan executor (reason "planned")
                                                       or by strawberry's resolvers (reason: why not planned)
    gateway_rate_limited_total{role}                   requests refused by a rate limit (role: guest, address,
                                                       user, admin)
    gateway_rate_limit_local_total                     rate-limit charges applied by this process alone, Redis
                                                       being unreachable (gateway/http/rate_limits.py)
    gateway_breaker_state{source}                      0 closed, 1 half-open, 2 open (read when scraped)
    gateway_memory_cache_bytes{cache}, gateway_memory_cache_entries{cache}, gateway_memory_cache_capacity_bytes{cache}
                                                       the in-process caches (responses, documents, persisted), and
    gateway_memory_cache_fresh                         1 while memory may serve responses (read when scraped)
    gateway_outbox_pending, gateway_outbox_oldest_pending_age_seconds, gateway_outbox_parked  (read when scraped)
    gateway_events_total{outcome}                      behaviour events: written to MongoDB, or dropped (dropped_full:
                                                       the buffer was full; dropped_error: MongoDB refused a batch;
                                                       dropped_shutdown: still buffered when the process stopped)
    gateway_events_buffered                            events waiting in this process's buffer (read when scraped)

``operation`` is the GraphQL operation's name when it is one of the persisted manifests' names or one of the first
``MAX_OPERATION_NAMES`` other names this process has seen; later names count as ``other``, a request without a
name as ``anonymous``: a client inventing names cannot grow the number of series without bound.

Several worker processes: with ``PROMETHEUS_MULTIPROC_DIR`` set (to an empty directory, before the process starts)
prometheus-client keeps the counters and histograms in files there and ``exposition()`` sums every worker's. The
scrape-time gauges come from the worker that answers the scrape (the outbox is shared; breakers are per process).
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from gateway.stores import breaker

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4  # the text format every Prometheus reads
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
MAX_OPERATION_NAMES = 100
ANONYMOUS = "anonymous"
OTHER = "other"

REGISTRY = CollectorRegistry(auto_describe=True)
for _standard in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):  # process_*, python_* of this process
    REGISTRY.register(_standard)

_LATENCY = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0)
_STORE_LATENCY = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0)
_BATCH_SIZES = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)

REQUESTS = Counter(
    "gateway_requests",
    "GraphQL requests over HTTP by operation and outcome",
    ("operation", "outcome"),
    registry=REGISTRY,
)
REQUEST_SECONDS = Histogram(
    "gateway_request_seconds",
    "GraphQL request latency by operation type",
    ("type",),
    buckets=_LATENCY,
    registry=REGISTRY,
)
STORE_CALLS = Counter(
    "gateway_store_calls", "Round trips to a store by operation", ("source", "operation"), registry=REGISTRY
)
STORE_SECONDS = Histogram(
    "gateway_store_call_seconds", "Store round-trip latency", ("source",), buckets=_STORE_LATENCY, registry=REGISTRY
)
STORE_ERRORS = Counter(
    "gateway_store_errors", "Failed store round trips by error code", ("source", "code"), registry=REGISTRY
)
STORE_TARGET_CALLS = Counter(
    "gateway_store_target_calls",
    "Round trips to a store with replicas (MySQL), by target (primary, replica) and operation",
    ("source", "target", "operation"),
    registry=REGISTRY,
)
CACHE = Counter("gateway_cache", "Cache lookups by kind and outcome", ("kind", "outcome"), registry=REGISTRY)
BATCH_SIZE = Histogram(
    "gateway_dataloader_batch_size", "Keys per loader batch", ("loader",), buckets=_BATCH_SIZES, registry=REGISTRY
)
OPERATIONS = Counter(
    "gateway_operations",
    "Operations executed, by executor (plan, resolvers) and why one was not planned",
    ("executor", "reason"),
    registry=REGISTRY,
)
RATE_LIMITED = Counter(
    "gateway_rate_limited", "Requests refused by a rate limit, by role", ("role",), registry=REGISTRY
)
RATE_LIMIT_LOCAL = Counter(
    "gateway_rate_limit_local",
    "Rate-limit charges applied by this process alone because Redis could not be reached",
    registry=REGISTRY,
)

EVENTS = Counter(
    "gateway_events", "Behaviour events written to MongoDB or dropped, by outcome", ("outcome",), registry=REGISTRY
)

_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]{0,63}$")
_BREAKER_VALUES = {"closed": 0.0, "half-open": 1.0, "half_open": 1.0, "open": 2.0}


class _OperationNames:
    """The bounded set of operation names used as label values."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: set[str] = set()
        self._seen: set[str] = set()

    def allow(self, names: Iterable[str | None]) -> None:
        with self._lock:
            self._known.update(name for name in names if name and _NAME.match(name))

    def label(self, name: str | None) -> str:
        if not name:
            return ANONYMOUS
        if name in self._known or name in self._seen:
            return name
        if not _NAME.match(name):
            return OTHER
        with self._lock:
            if len(self._seen) < MAX_OPERATION_NAMES:
                self._seen.add(name)
                return name
        return OTHER


operation_names = _OperationNames()


# Labelled children by their label values: ``labels()`` takes a lock and builds a tuple on every call, and the
# hot path (a response served from memory) counts three series per request. Bounded as the label values are.
_requests: dict[tuple[str, str], Counter] = {}
_request_seconds: dict[str, Histogram] = {}
_cache: dict[tuple[str, str], Counter] = {}


def observe_request(*, operation: str | None, operation_type: str | None, outcome: str, seconds: float) -> None:
    key = (operation_names.label(operation), outcome)
    counter = _requests.get(key)
    if counter is None:
        counter = _requests[key] = REQUESTS.labels(*key)
    counter.inc()
    kind = operation_type or "none"
    histogram = _request_seconds.get(kind)
    if histogram is None:
        histogram = _request_seconds[kind] = REQUEST_SECONDS.labels(kind)
    histogram.observe(seconds)


def observe_store_call(
    source: str, operation: str, seconds: float, error: str | None, target: str | None = None
) -> None:
    STORE_CALLS.labels(source, operation or "unnamed").inc()
    if target is not None:
        STORE_TARGET_CALLS.labels(source, target, operation or "unnamed").inc()
    STORE_SECONDS.labels(source).observe(seconds)
    if error is not None:
        STORE_ERRORS.labels(source, error).inc()


def observe_cache(kind: str, outcome: str, count: int = 1) -> None:
    """``outcome`` as the caches name it; "not stored (an entity changed meanwhile)" counts as ``not_stored``."""
    if count:
        counter = _cache.get((kind, outcome))
        if counter is None:
            counter = _cache[(kind, outcome)] = CACHE.labels(kind, outcome.split(" (")[0].replace(" ", "_"))
        counter.inc(count)


_events: dict[str, Counter] = {}


def observe_events(outcome: str, count: int = 1) -> None:
    """``outcome``: written, dropped_full, dropped_error, dropped_shutdown, dropped_forgotten."""
    counter = _events.get(outcome)
    if counter is None:
        counter = _events[outcome] = EVENTS.labels(outcome)
    counter.inc(count)


def observe_batch(loader: str, size: int) -> None:
    BATCH_SIZE.labels(loader).observe(size)


def observe_executor(executor: str, reason: str) -> None:
    """``reason``: "planned", or one of the engine's fixed reasons for running on the resolvers."""
    OPERATIONS.labels(executor, reason).inc()


def observe_rate_limited(role: str) -> None:
    RATE_LIMITED.labels(role).inc()


def observe_rate_limit_local(charges: int) -> None:
    RATE_LIMIT_LOCAL.inc(charges)


@dataclass(frozen=True, slots=True)
class MemoryCache:
    """One in-process cache as scraped: its estimated bytes, entries and capacity."""

    bytes: int
    entries: int
    capacity: int


@dataclass(frozen=True, slots=True)
class OutboxLag:
    pending: int
    oldest_age_s: float
    parked: int


class _Scraped(Collector):
    """Gauges read when /metrics is scraped: the outbox lag (when MySQL answered) and the breakers' states."""

    def __init__(
        self,
        outbox: OutboxLag | None,
        breakers: Mapping[str, str],
        memory: Mapping[str, MemoryCache] | None = None,
        fresh: bool | None = None,
        events_buffered: int | None = None,
    ) -> None:
        self.events_buffered = events_buffered
        self.outbox = outbox
        self.breakers = breakers
        self.memory = memory or {}
        self.fresh = fresh

    def collect(self) -> Iterator[Metric]:
        if self.outbox is not None:
            yield _gauge("gateway_outbox_pending", "Outbox events not yet applied", self.outbox.pending)
            yield _gauge(
                "gateway_outbox_oldest_pending_age_seconds",
                "Age of the oldest outbox event not yet applied (0 when none)",
                self.outbox.oldest_age_s,
            )
            yield _gauge("gateway_outbox_parked", "Outbox events parked after too many attempts", self.outbox.parked)
        if self.breakers:
            family = GaugeMetricFamily(
                "gateway_breaker_state", "Circuit breaker per store: 0 closed, 1 half-open, 2 open", labels=("source",)
            )
            for source, state in sorted(self.breakers.items()):
                if (value := _BREAKER_VALUES.get(state.lower())) is not None:
                    family.add_metric((source,), value)
            yield family
        if self.memory:
            for name, help_text, attribute in (
                ("gateway_memory_cache_bytes", "Estimated bytes held by each in-process cache", "bytes"),
                ("gateway_memory_cache_entries", "Entries held by each in-process cache", "entries"),
                ("gateway_memory_cache_capacity_bytes", "The byte bound of each in-process cache", "capacity"),
            ):
                family = GaugeMetricFamily(name, help_text, labels=("cache",))
                for cache, stats in sorted(self.memory.items()):
                    family.add_metric((cache,), float(getattr(stats, attribute)))
                yield family
        if self.events_buffered is not None:
            yield _gauge(
                "gateway_events_buffered", "Behaviour events waiting in this process's buffer", self.events_buffered
            )
        if self.fresh is not None:
            yield _gauge(
                "gateway_memory_cache_fresh",
                "1 while this process follows the invalidations within the staleness bound (memory may serve)",
                float(self.fresh),
            )


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def exposition(
    outbox: OutboxLag | None = None,
    breakers: Mapping[str, str] | None = None,
    memory: Mapping[str, MemoryCache] | None = None,
    fresh: bool | None = None,
    events_buffered: int | None = None,
) -> bytes:
    """The text exposition of every metric (every worker's in multiprocess mode) plus the scrape-time gauges (the
    memory caches' are this worker's)."""
    if directory := os.environ.get(MULTIPROC_ENV):
        merged = CollectorRegistry()
        MultiProcessCollector(merged, path=directory)  # type: ignore[no-untyped-call]
        counted = generate_latest(merged)
    else:
        counted = generate_latest(REGISTRY)
    scraped = CollectorRegistry()
    states = breakers if breakers is not None else breaker.breaker_states()
    scraped.register(_Scraped(outbox, states, memory, fresh, events_buffered))
    return counted + generate_latest(scraped)


def clear_multiprocess_dir(directory: str | None = None) -> None:
    """Empty ``directory`` (default: ``PROMETHEUS_MULTIPROC_DIR``; created if missing) before workers start: stale
    files of an earlier run would be summed into this one's counters. Nothing to do when neither is set."""
    if not (directory := directory or os.environ.get(MULTIPROC_ENV)):
        return
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        if name.endswith(".db"):
            os.remove(os.path.join(directory, name))
