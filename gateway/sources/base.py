"""What every source module shares: the call guard that bounds time and translates driver errors."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from gateway.errors import SourceAuthFailed, SourceTimeout, SourceUnavailable

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
) -> T:
    """Await ``call`` for at most ``timeout`` seconds; driver failures become the gateway's own errors."""
    unavailable: tuple[type[BaseException], ...] = (*driver_errors, OSError)
    try:
        return await asyncio.wait_for(call, timeout)
    except TimeoutError as exc:
        raise SourceTimeout(source, timeout) from exc
    except auth_errors as exc:
        raise SourceAuthFailed(source, f"{type(exc).__name__}: {exc}") from exc
    except unavailable as exc:
        raise SourceUnavailable(source, f"{type(exc).__name__}: {exc}") from exc
