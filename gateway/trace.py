"""Per-request accounting of every call to a store: what ``extensions.explain`` reports.

``guarded()`` (gateway/stores/guard.py) is the one door every store call goes through, and it records each call
here: one record is one round trip (one SQL statement, one Mongo command, one Cypher query, one Redis command
or pipeline). The trace of the running request lives in a context variable, so DataLoader batches, which run
in tasks created from the request, record into the right request without anyone passing it along.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

KEYS_SHOWN = 20  # keys listed per call in explain; ``keyCount`` always has the full number


@dataclass(frozen=True, slots=True)
class Call:
    source: str
    operation: str
    keys: tuple[Any, ...]
    seconds: float
    error: str | None = None
    target: str | None = None  # MySQL with replicas: "primary" or "replica"


@dataclass(slots=True)
class Trace:
    calls: list[Call] = field(default_factory=list)
    cache: dict[str, dict[str, int]] = field(default_factory=dict)  # entity kind → hits, misses, bypassed
    response_cache: str | None = None  # hit, miss, stored, bypassed…; None when the response cache was not asked
    refused: dict[str, int] = field(default_factory=dict)  # source → calls its open breaker refused (no round trip)
    executor: str | None = None  # "plan" or "resolvers": who ran the operation (engine/)
    unplanned: str | None = None  # why it ran on the resolvers, when it did
    plan: str | None = None  # "cached" (compiled before) or "compiled" (by this request)
    persisted: str | None = None  # where a document named by hash or id came from: manifest, memory, redis

    def count_cache(self, kind: str, *, hits: int = 0, misses: int = 0, bypassed: int = 0) -> None:
        counts = self.cache.setdefault(kind, {"hits": 0, "misses": 0, "bypassed": 0})
        counts["hits"] += hits
        counts["misses"] += misses
        counts["bypassed"] += bypassed

    def record(
        self,
        source: str,
        operation: str,
        keys: Sequence[Any],
        seconds: float,
        error: str | None = None,
        target: str | None = None,
    ) -> None:
        self.calls.append(Call(source, operation, tuple(keys), seconds, error, target))

    def refuse(self, source: str) -> None:
        self.refused[source] = self.refused.get(source, 0) + 1

    def round_trips(self, source: str) -> int:
        return sum(1 for call in self.calls if call.source == source)

    def explain(self) -> dict[str, Any]:
        """Per source: round trips, keys requested, time spent, and each call in the order it was made (MySQL with
        replicas: each call's ``target``, primary or replica, and the round trips per target); per
        cached entity kind: hits, misses, and lookups that bypassed an unreachable cache; per source whose breaker
        was open: the calls it refused."""
        sources: dict[str, dict[str, Any]] = {}
        for call in self.calls:
            entry = sources.setdefault(call.source, {"roundTrips": 0, "keys": 0, "timeMs": 0.0, "calls": []})
            entry["roundTrips"] += 1
            entry["keys"] += len(call.keys)
            entry["timeMs"] += call.seconds * 1000
            shown: dict[str, Any] = {
                "operation": call.operation,
                "keyCount": len(call.keys),
                "keys": [_plain(key) for key in call.keys[:KEYS_SHOWN]],
                "timeMs": round(call.seconds * 1000, 3),
            }
            if call.error:
                shown["error"] = call.error
            if call.target is not None:
                shown["target"] = call.target
                targets = entry.setdefault("targets", {})
                targets[call.target] = targets.get(call.target, 0) + 1
            entry["calls"].append(shown)
        for entry in sources.values():
            entry["timeMs"] = round(entry["timeMs"], 3)
        explained: dict[str, Any] = {"sources": sources, "cache": {k: dict(v) for k, v in self.cache.items()}}
        if self.executor is not None:
            explained["executor"] = self.executor
        if self.unplanned is not None:
            explained["unplanned"] = self.unplanned
        if self.plan is not None:
            explained["plan"] = self.plan
        if self.persisted is not None:
            explained["persistedDocument"] = self.persisted
        if self.response_cache is not None:
            explained["responseCache"] = self.response_cache
        if self.refused:
            explained["refusedByBreaker"] = dict(self.refused)
        return explained


def _plain(key: Any) -> Any:
    if isinstance(key, str | int | float | bool) or key is None:
        return key
    if isinstance(key, tuple | list):
        return [_plain(part) for part in key]
    return str(key)


current: ContextVar[Trace | None] = ContextVar("gateway_trace", default=None)


class tracing:  # used as a function: ``with tracing(trace):``
    """Make ``trace`` the current one for the code (and the tasks it starts) inside the block. A class rather than a
    generator: every request enters one, and a generator-based context manager costs several times as much."""

    __slots__ = ("_token", "trace")

    def __init__(self, trace: Trace) -> None:
        self.trace = trace

    def __enter__(self) -> Trace:
        self._token = current.set(self.trace)
        return self.trace

    def __exit__(self, *exc: object) -> None:
        current.reset(self._token)
