"""What every source module shares: the call guard that bounds time and translates driver errors."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from gateway import trace
from gateway.errors import SourceAuthFailed, SourceError, SourceTimeout, SourceUnavailable
from gateway.observability.calls import observe_store_call

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ServerInfo:
    source: str
    server: str
    version: str


class Source(Protocol):
    name: str

    async def ping(self) -> None: ...

    async def server_info(self) -> ServerInfo: ...

    async def close(self) -> None: ...


async def guarded(
    source: str,
    timeout: float,
    call: Awaitable[T],
    driver_errors: tuple[type[BaseException], ...],
    auth_errors: tuple[type[BaseException], ...] = (),
    *,
    operation: str = "",
    keys: Sequence[Any] = (),
) -> T:
    """Await ``call`` for at most ``timeout`` seconds; driver failures become the gateway's own errors.

    ``call`` must be one round trip to the store: it is recorded as one in the current request's trace, with
    ``operation`` and the shared ``keys`` it asked for (what ``extensions.explain`` shows).
    """
    started = time.perf_counter()
    error: str | None = None
    try:
        return await _translated(source, timeout, call, driver_errors, auth_errors)
    except SourceError as exc:
        error = exc.code
        raise
    except BaseException:
        error = "INTERNAL_SERVER_ERROR"
        raise
    finally:
        if (current := trace.current.get()) is not None:
            current.record(source, operation, keys, time.perf_counter() - started, error)
        observe_store_call(source, operation, keys, time.perf_counter() - started, error)  # metrics, spans


async def _translated(
    source: str,
    timeout: float,
    call: Awaitable[T],
    driver_errors: tuple[type[BaseException], ...],
    auth_errors: tuple[type[BaseException], ...],
) -> T:
    unavailable: tuple[type[BaseException], ...] = (*driver_errors, OSError)
    try:
        return await asyncio.wait_for(call, timeout)
    except TimeoutError as exc:
        raise SourceTimeout(source, timeout) from exc
    except auth_errors as exc:
        raise SourceAuthFailed(source, f"{type(exc).__name__}: {exc}") from exc
    except unavailable as exc:
        raise SourceUnavailable(source, f"{type(exc).__name__}: {exc}") from exc
