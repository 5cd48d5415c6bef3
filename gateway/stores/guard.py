"""What every store module shares: the call guard that bounds time and translates driver errors."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from gateway import trace
from gateway.errors import SourceAuthFailed, SourceError, SourceTimeout, SourceUnavailable
from gateway.observability.calls import observe_store_call
from gateway.stores import breaker
from gateway.stores.breaker import Breaker, BreakerOpen

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ServerInfo:
    source: str
    server: str
    version: str


@dataclass(frozen=True, slots=True)
class PoolUse:
    """A client's connection pool as its driver reports it; None where the driver does not say."""

    size: int | None
    open: int | None = None
    in_use: int | None = None


class Guardable(Protocol):
    """What ``guarded()`` needs of a store client: its name, and the circuit breaker of its server."""

    name: str
    breaker: Breaker


class Source(Protocol):
    name: str
    breaker: Breaker
    timeout: float

    async def ping(self) -> None: ...

    async def server_info(self) -> ServerInfo: ...

    def pool(self) -> PoolUse: ...

    async def close(self) -> None: ...


def bulk_bound(source: Source, seconds: float) -> float:
    """The bound of one bulk read or write (seeding, reconcile, the tests' fixtures): ``seconds``, or the client's
    own bound when that is longer (the batch commands raise it to ``GATEWAY_BATCH_TIMEOUT_S``)."""
    return max(seconds, source.timeout)


async def guarded(
    source: Guardable | str,
    timeout: float,
    call: Awaitable[T],
    driver_errors: tuple[type[BaseException], ...],
    auth_errors: tuple[type[BaseException], ...] = (),
    *,
    operation: str = "",
    keys: Sequence[Any] = (),
    budget: bool = False,
) -> T:
    """Await ``call`` for at most ``timeout`` seconds; driver failures become the gateway's own errors.

    ``budget``: ``timeout`` is the caller's own budget, shorter than the store's (the caches' 0.25 s): running
    out of it is a TIMEOUT for the caller, but says nothing about the store being down, so it is not counted by
    the breaker (a slow Redis would otherwise open it and fail carts and persisted queries too).

    ``call`` must be one round trip to the store: it is recorded as one in the current request's trace, with
    ``operation`` and the shared ``keys`` it asked for (what ``extensions.explain`` shows). The store's circuit
    breaker (gateway/stores/breaker.py) is asked first: while it is open, ``call`` is dropped unawaited and
    ``BreakerOpen`` raised at once. ``source`` is the store's client, or only its name for a client of
    its own (that store's breaker without an endpoint). A client with a ``target`` (MySQL's primary and replicas,
    once replicas are configured) has it recorded with the call: explain's ``target``, the metrics' label.
    """
    if isinstance(source, str):
        name, gate, target = source, breaker.for_store(source), None
    else:
        name, gate, target = source.name, source.breaker, getattr(source, "target", None)
    try:
        probe = gate.admit()
    except BreakerOpen:
        _discard(call)
        if (current := trace.current.get()) is not None:
            current.refuse(name)
        raise
    started = time.perf_counter()
    error: str | None = None
    try:
        result = await _translated(name, timeout, call, driver_errors, auth_errors)
    except SourceError as exc:
        error = exc.code
        if budget and isinstance(exc, SourceTimeout):
            gate.abandoned(probe)  # out of the caller's budget: says nothing about the store
        elif breaker.counts_as_failure(exc):
            gate.failed(probe, exc)
        else:  # refused credentials: the store answered
            gate.succeeded(probe)
        raise
    except BaseException:
        error = "INTERNAL_SERVER_ERROR"
        gate.abandoned(probe)
        raise
    else:
        gate.succeeded(probe)
        return result
    finally:
        seconds = time.perf_counter() - started
        if (current := trace.current.get()) is not None:
            current.record(name, operation, keys, seconds, error, target)
        observe_store_call(name, operation, keys, seconds, error, target)  # metrics, spans


async def _translated(
    source: str,
    timeout: float,
    call: Awaitable[T],
    driver_errors: tuple[type[BaseException], ...],
    auth_errors: tuple[type[BaseException], ...],
) -> T:
    unavailable: tuple[type[BaseException], ...] = (*driver_errors, OSError)
    try:
        return await _bounded(call, timeout)
    except TimeoutError as exc:
        raise SourceTimeout(source, timeout) from exc
    except auth_errors as exc:
        raise SourceAuthFailed(source, f"{type(exc).__name__}: {exc}") from exc
    except unavailable as exc:
        raise SourceUnavailable(source, f"{type(exc).__name__}: {exc}") from exc


# Calls given up on (timed out, or their caller cancelled), still unwinding: referenced until they end.
_abandoned: set[asyncio.Future[Any]] = set()


async def _bounded(call: Awaitable[T], timeout: float) -> T:
    """``call``'s result, or TimeoutError after ``timeout`` seconds: really after ``timeout``.

    ``asyncio.wait_for`` cancels the call and then waits for it to unwind, and a driver unwinding over a socket
    to a hung (SIGSTOPped) server may wait on that socket: the caller would wait with it. Here the call runs in
    its own task, which is cancelled and left to unwind on its own; the caller gets its TimeoutError on time.
    """
    task = asyncio.ensure_future(call)
    try:
        done, _ = await asyncio.wait((task,), timeout=timeout)
    except asyncio.CancelledError:
        _abandon(task)
        raise
    if not done:
        _abandon(task)
        raise TimeoutError
    return task.result()


def _abandon(task: asyncio.Future[Any]) -> None:
    task.cancel()
    _abandoned.add(task)
    task.add_done_callback(_forget)


def _forget(task: asyncio.Future[Any]) -> None:
    _abandoned.discard(task)
    if not task.cancelled():
        task.exception()  # retrieved: a late driver error of a call nobody waits for is not worth a warning


def _discard(call: Awaitable[Any]) -> None:
    """Drop a call that will never run without a "never awaited" warning."""
    if inspect.iscoroutine(call):
        call.close()
    elif isinstance(call, asyncio.Future):
        call.cancel()
