"""The plan executor answers every case of the corpus as strawberry's resolvers do: the same status, the same
data byte for byte (key order included), the same errors (message, path, locations, code; their order is not
specified, so they are compared as a set). With every store up, then with each store stopped.

With a store stopped, its circuit breaker is opened before each case reaches either executor, so that both meet
the same refusals (a breaker opening half-way through one of them would change the messages, not the executor's
behaviour); a few cases then run with the breaker closed, every call reaching the stopped server.
"""

from __future__ import annotations

import pytest

from gateway.config import Settings
from gateway.errors import SourceUnavailable
from gateway.stores import breaker
from schema import schema
from tests.engine.conftest import Pair, compare
from tests.engine.corpus import Case, added, collected, generated
from tests.services import services

GENERATED = 300
COLLECTED = collected(schema._schema)
CASES: list[Case] = COLLECTED + generated(schema._schema, GENERATED) + added()
STORES = ("mysql", "mongodb", "neo4j", "redis")


def test_the_corpus_is_large_and_varied() -> None:
    assert len(CASES) >= 300
    assert len(COLLECTED) >= 100  # the documents of the tests and benches
    texts = " ".join(case.query for case in CASES)
    for feature in ("fragment ", "... on ", "@include(if: $", "@skip(if: ", "__typename", ": $v", "alias: "):
        assert feature in texts, feature
    assert {case.viewer for case in CASES} >= {None, (943, True), (1, False)}


async def test_every_case_answers_alike(executors: Pair) -> None:
    differences, ran = await compare(executors, CASES)
    assert not differences, f"{len(differences)} of {len(CASES)} differ:\n" + "\n".join(differences[:10])
    assert ran.get("plan", 0) >= 0.8 * len(CASES), ran  # the comparison is not vacuous: most ran as plans


@pytest.mark.services
@pytest.mark.parametrize("store", STORES)
async def test_every_case_answers_alike_with_a_store_stopped(executors: Pair, settings: Settings, store: str) -> None:
    cases = CASES[::3]
    services("stop", store)
    try:
        breaker.configure(failures=settings.breaker_failures, reset_s=3600)  # open stays open for a whole case
        differences, _ = await compare(executors, cases, before_each=lambda: _open(store))
        breaker.configure(failures=10**6, reset_s=settings.breaker_reset_s)  # closed stays closed
        closed, _ = await compare(executors, COLLECTED[:8], before_each=breaker.reset)
    finally:
        breaker.configure(failures=settings.breaker_failures, reset_s=settings.breaker_reset_s)
        services("start", store)
        breaker.reset()
    assert not differences, f"{store} stopped, breaker open: {len(differences)} differ:\n" + "\n".join(differences[:8])
    assert not closed, f"{store} stopped, breaker closed: {len(closed)} differ:\n" + "\n".join(closed[:8])


def _open(store: str) -> None:
    """Every breaker of ``store`` open (the apps' clients may have their own), the others closed."""
    breaker.reset()
    for (source, _), gate in breaker.registry().items():
        if source == store:
            for _ in range(gate.failures):
                gate.failed(False, SourceUnavailable(store, "stopped by the test"))
