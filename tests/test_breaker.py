"""The circuit breaker's states (gateway/stores/breaker.py), and guarded() asking it before every store call."""

from __future__ import annotations

import asyncio

import pytest

from gateway.errors import SourceAuthFailed, SourceTimeout, SourceUnavailable
from gateway.stores import Sources, breaker
from gateway.stores.breaker import Breaker, BreakerOpen
from gateway.stores.guard import guarded
from gateway.stores.redis.client import RedisSource
from gateway.trace import Trace, tracing
from tests.conftest import make_test_settings


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


DOWN = SourceUnavailable("teststore", "refused")


def test_opens_after_consecutive_failures_only() -> None:
    gate = Breaker("teststore", failures=3, reset_s=5, clock=Clock())
    for _ in range(2):
        assert gate.admit() is False
        gate.failed(False, DOWN)
    gate.succeeded(False)  # an answer in between starts the count again
    for _ in range(2):
        gate.failed(False, DOWN)
    assert gate.state == "closed"
    gate.failed(False, SourceTimeout("teststore", 2))
    assert gate.state == "open"
    with pytest.raises(BreakerOpen) as refused:
        gate.admit()
    assert refused.value.extensions() == {"code": "SOURCE_UNAVAILABLE", "source": "teststore", "breaker": "open"}
    assert str(refused.value) == "teststore is unavailable (circuit breaker open)"


def test_half_open_lets_one_probe_through_and_its_outcome_decides() -> None:
    clock = Clock()
    gate = Breaker("teststore", failures=1, reset_s=5, clock=clock)
    gate.failed(False, DOWN)
    clock.now += 4.9
    assert gate.state == "open"
    with pytest.raises(BreakerOpen):
        gate.admit()
    clock.now += 0.1
    assert gate.state == "half_open"
    assert gate.admit() is True  # the probe
    with pytest.raises(BreakerOpen):  # the others still fail fast while it is out
        gate.admit()
    gate.failed(True, DOWN)
    assert gate.state == "open"  # for another full cool-down
    clock.now += 4.9
    with pytest.raises(BreakerOpen):
        gate.admit()
    clock.now += 0.1
    assert gate.admit() is True
    gate.abandoned(True)  # cancelled: says nothing, the next call probes
    assert gate.state == "half_open"
    assert gate.admit() is True
    gate.succeeded(True)
    assert gate.state == "closed"
    assert gate.admit() is False


def test_refused_credentials_and_late_failures_do_not_count() -> None:
    clock = Clock()
    gate = Breaker("teststore", failures=1, reset_s=5, clock=clock)
    assert not breaker.counts_as_failure(SourceAuthFailed("teststore", "bad password"))
    assert breaker.counts_as_failure(SourceTimeout("teststore", 2))
    gate.failed(False, DOWN)
    clock.now += 3
    gate.failed(False, DOWN)  # a call let in before it opened: the cool-down does not restart
    clock.now += 2
    assert gate.state == "half_open"


def test_states_of_every_store_show_the_worst_server_of_each() -> None:
    states = breaker.breaker_states()
    assert list(states)[:4] == ["mysql", "mongodb", "neo4j", "redis"]
    assert set(states.values()) <= {"closed", "open", "half_open"}
    other = breaker.for_store("teststore-states", "127.0.0.1:1")
    fine = breaker.for_store("teststore-states", "127.0.0.1:2")
    try:
        for _ in range(other.failures):
            other.failed(False, DOWN)
        assert (other.state, fine.state) == ("open", "closed")
        assert breaker.breaker_states()["teststore-states"] == "open"
    finally:
        breaker._breakers.pop(("teststore-states", "127.0.0.1:1"), None)
        breaker._breakers.pop(("teststore-states", "127.0.0.1:2"), None)


async def test_a_client_of_another_server_has_a_breaker_of_its_own(sources: Sources) -> None:
    """Tests run apps pointed at a closed port beside the real servers: that breaker opening closes nothing else."""
    nowhere = RedisSource(make_test_settings(redis_url="redis://127.0.0.1:9/1", source_timeout_s=0.5))
    try:
        assert nowhere.breaker is not sources.redis.breaker
        for _ in range(nowhere.breaker.failures):
            with pytest.raises(SourceUnavailable):
                await nowhere.ping()
        assert nowhere.breaker.state == "open"
        with pytest.raises(BreakerOpen):
            await nowhere.ping()
        assert sources.redis.breaker.state == "closed"
        await sources.redis.ping()
    finally:
        await nowhere.close()
        breaker._breakers.pop(("redis", "127.0.0.1:9"), None)


async def test_guarded_refuses_without_calling_the_store_while_open() -> None:
    breaker.configure(failures=2, reset_s=60)
    source = "teststore-guarded"
    started: list[str] = []

    async def failing() -> None:
        started.append("call")
        raise ConnectionRefusedError("refused")

    try:
        for _ in range(2):
            with pytest.raises(SourceUnavailable):
                await guarded(source, 1.0, failing(), ())
        assert breaker.breaker_states()[source] == "open"
        with tracing(Trace()) as trace, pytest.raises(BreakerOpen):
            await guarded(source, 1.0, failing(), (), operation="refused")
        assert started == ["call", "call"]  # the third coroutine was closed, never run (no warning either)
        assert trace.calls == []  # no round trip
        assert trace.explain()["refusedByBreaker"] == {source: 1}
    finally:
        breaker.configure(failures=5, reset_s=5.0)
        breaker._breakers.pop((source, ""), None)


async def test_guarded_times_out_without_waiting_for_the_call_to_unwind() -> None:
    """A driver unwinding over a hung socket does not hold the caller past its timeout."""
    unwound = asyncio.Event()
    release = asyncio.Event()

    async def hung() -> None:
        try:
            await asyncio.Event().wait()  # never answers
        finally:
            await release.wait()  # and its clean-up waits too (a rollback on the hung socket)
            unwound.set()

    source = "teststore-hung"
    try:
        with pytest.raises(SourceTimeout):
            await guarded(source, 0.05, hung(), ())
        assert not unwound.is_set()  # the caller got its TIMEOUT while the call was still unwinding
        release.set()
        await asyncio.wait_for(unwound.wait(), 5)
    finally:
        breaker._breakers.pop((source, ""), None)
