"""Server identity and latency per store, keyed by store name (aliases asking twice cost one round trip)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

from gateway.config import SourceName
from gateway.errors import SourceError
from gateway.stores import Sources


@dataclass(frozen=True, slots=True)
class BackendStatus:
    source: str
    server: str
    version: str
    latency_ms: float


async def _status(sources: Sources, name: SourceName) -> BackendStatus | SourceError:
    start = time.perf_counter()
    try:
        info = await sources.by_name(name).server_info()
    except SourceError as exc:
        return exc
    latency = round((time.perf_counter() - start) * 1000, 2)
    return BackendStatus(info.source, info.server, info.version, latency)


async def load_backend_status(sources: Sources, names: Sequence[SourceName]) -> list[BackendStatus | BaseException]:
    return list(await asyncio.gather(*(_status(sources, name) for name in names)))
