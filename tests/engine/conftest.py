"""Two apps over the same seeded stores: one runs queries as plans (the default), the other on strawberry's
resolvers (the reference). A case is sent to both and their answers compared."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest_asyncio

from gateway.config import Settings
from gateway.jobs.seeding import SeedReport
from tests.conftest import make_test_settings, token_for
from tests.engine.corpus import Case
from tests.http.conftest import serve


@dataclass(frozen=True, slots=True)
class Answer:
    """An answer as compared. Errors are canonical JSON (their order is not specified). Those at a position that
    is null in ``data`` are compared as they are; those below a null (a non-null field failed and its null went
    up, ``nulled``) only by their position: graphql-core cancels the rest of a subtree once a null goes up
    through it, so which of the subtree's other errors it reports depends on timing. Both must report at least
    one common error for each such position (the one that nulled it). The status must match, except a 401 owed
    only to such errors (``timed_401``); the WWW-Authenticate header follows the status."""

    status: int
    data: bytes  # the data entry as sent (key order included); b"absent" when there is none
    errors: frozenset[str]
    nulled: dict[tuple[str | int, ...], frozenset[str]]
    executor: str | None  # who ran it, from explain
    www_authenticate: str | None

    def same_as(self, other: Answer) -> bool:
        if self.status == other.status:
            if self.www_authenticate != other.www_authenticate:
                return False
        elif not (self.timed_401() or other.timed_401()):
            return False
        mine = (self.data, self.errors, set(self.nulled))
        theirs = (other.data, other.errors, set(other.nulled))
        return mine == theirs and all(self.nulled[at] & other.nulled[at] for at in self.nulled)

    def timed_401(self) -> bool:
        """A 401 owed only to UNAUTHENTICATED errors below a null that went up: which of those a subtree reports
        depends on timing (above), so the status that follows from them does too (on either executor)."""
        if self.status != 401 or any('"UNAUTHENTICATED"' in error for error in self.errors):
            return False
        return any('"UNAUTHENTICATED"' in error for found in self.nulled.values() for error in found)


@dataclass(frozen=True, slots=True)
class Pair:
    plan: httpx.AsyncClient
    resolvers: httpx.AsyncClient


def differential_settings(**overrides: Any) -> Settings:
    # A generous store bound: a loaded machine must not time a call out in one executor and not in the other.
    return make_test_settings(response_cache=False, source_timeout_s=8.0, **overrides)


@pytest_asyncio.fixture(scope="module")
async def executors(seeded: SeedReport) -> AsyncIterator[Pair]:
    async with (
        serve(differential_settings(executor="plan")) as plan,
        serve(differential_settings(executor="resolvers")) as resolvers,
    ):
        yield Pair(plan, resolvers)


async def ask(client: httpx.AsyncClient, case: Case) -> Answer:
    headers = {"X-Gateway-Explain": "1", "X-Session-Id": "differential-session-1"}
    if case.viewer is not None:
        user, admin = case.viewer
        headers["Authorization"] = "Bearer " + token_for(user, admin=admin)
    response = await client.post(
        "/graphql", json={"query": case.query, "variables": case.variables}, headers=headers, timeout=120
    )
    body = orjson.loads(response.content)
    direct: set[str] = set()
    nulled: dict[tuple[str | int, ...], set[str]] = {}
    for error in body.get("errors", []):
        error.get("extensions", {}).pop("requestId", None)  # one per request, by design
        text = orjson.dumps(error, option=orjson.OPT_SORT_KEYS).decode()
        at = _null_above(body.get("data"), error.get("path"))
        if at is None:
            direct.add(text)
        else:
            nulled.setdefault(at, set()).add(text)
    explain = (body.get("extensions") or {}).get("explain") or {}
    data = orjson.dumps(_steady(body["data"])) if "data" in body else b"absent"
    return Answer(
        response.status_code,
        data,
        frozenset(direct),
        {at: frozenset(found) for at, found in nulled.items()},
        explain.get("executor"),
        response.headers.get("www-authenticate"),
    )


def _null_above(data: Any, path: list[str | int] | None) -> tuple[str | int, ...] | None:
    """The first position above the error's own that is null in ``data`` (a null that went up), if any."""
    if path is None:
        return None
    value = data
    for depth in range(len(path)):
        if value is None:
            return tuple(path[:depth])
        value = value[path[depth]]
    return None


STEADIED = frozenset({"latencyMs", "lagSeconds", "lastActivityAt", "expiresAt"})


def _steady(value: Any) -> Any:
    """The data with what differs from one read to the next by nature blanked: a store's measured latency, the
    outbox's lag, a session's last activity (each request is one)."""
    if isinstance(value, dict):
        return {k: 0 if k in STEADIED and v is not None else _steady(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_steady(v) for v in value]
    return value


async def compare(
    pair: Pair, cases: list[Case], before_each: Callable[[], None] = lambda: None
) -> tuple[list[str], dict[str | None, int]]:
    """Every case on both executors (``before_each`` called before each of them): the differences found, and how
    many cases each executor ran."""
    differences = []
    ran: dict[str | None, int] = {}
    for case in cases:
        before_each()
        planned = await ask(pair.plan, case)
        before_each()
        reference = await ask(pair.resolvers, case)
        ran[planned.executor] = ran.get(planned.executor, 0) + 1
        if not planned.same_as(reference):
            differences.append(describe(case, planned, reference))
    return differences, ran


def describe(case: Case, planned: Answer, reference: Answer) -> str:
    return (
        f"{case.name} as {case.viewer}: {case.query} {case.variables}\n"
        f"  plan      {planned.status} {planned.data[:400]!r} {sorted(planned.errors)} {planned.nulled}\n"
        f"  resolvers {reference.status} {reference.data[:400]!r} {sorted(reference.errors)} {reference.nulled}"
    )
