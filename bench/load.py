"""A fixed number of connections sending a list of requests back to back, and a process's memory meanwhile.

Each connection is its own httpx.AsyncClient (one keep-alive connection) taking the next request from the shared
list as soon as it has its answer, until the list is empty. The memory is the process's resident set (VmRSS in
/proc/PID/status), sampled every ``interval`` seconds while the requests run.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from cache import cpu_seconds  # bench/ is sys.path[0] when run as a script
from pages import Outcome, Request, send

RSS_INTERVAL_S = 0.1


def rss_kib(pid: int) -> int:
    """Resident set of a live process, in KiB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation between closest ranks; nan for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(slots=True)
class Result:
    seconds: float = 0.0
    ms: list[float] = field(default_factory=list)  # successes only
    errors: Counter[str] = field(default_factory=Counter)
    rss_kib: list[int] = field(default_factory=list)  # samples over the run
    cpu_s: float | None = None  # CPU time the process used during the run

    @property
    def requests(self) -> int:
        return len(self.ms) + sum(self.errors.values())

    def figures(self) -> dict[str, object]:
        return {
            "requests": self.requests,
            "ok": len(self.ms),
            "errors": dict(self.errors.most_common()),
            "seconds": round(self.seconds, 2),
            "rps": round(len(self.ms) / self.seconds, 2) if self.seconds else 0.0,
            "p50_ms": round(percentile(self.ms, 50), 1),
            "p99_ms": round(percentile(self.ms, 99), 1),
            "max_ms": round(max(self.ms), 1) if self.ms else float("nan"),
            # share of one core the process used over the run (one uvicorn process uses at most one)
            "cpu_share": round(self.cpu_s / self.seconds, 2) if self.cpu_s is not None and self.seconds else None,
            "rss_peak_mib": round(max(self.rss_kib) / 1024, 1) if self.rss_kib else None,
            # the median of the second half of the samples: what the process settled at under this load
            "rss_steady_mib": round(statistics.median(self.rss_kib[len(self.rss_kib) // 2 :]) / 1024, 1)
            if self.rss_kib
            else None,
        }


async def run(url: str, requests: Sequence[Request], connections: int, pid: int) -> Result:
    """Send ``requests`` over ``connections`` connections; successes' latencies, errors by kind, ``pid``'s RSS and
    CPU time."""
    result = Result()
    queue = deque(requests)
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    running = True

    async def worker() -> None:
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60.0) as http:
            while queue:
                outcome: Outcome = await send(http, queue.popleft())
                if outcome.error is None:
                    result.ms.append(outcome.ms)
                else:
                    result.errors[outcome.error] += 1

    async def sample() -> None:
        while running:
            result.rss_kib.append(rss_kib(pid))
            await asyncio.sleep(RSS_INTERVAL_S)

    sampler = asyncio.create_task(sample())
    cpu_before = cpu_seconds(pid)
    start = time.perf_counter()
    try:
        await asyncio.gather(*(worker() for _ in range(connections)))
    finally:
        result.seconds = time.perf_counter() - start
        result.cpu_s = cpu_seconds(pid) - cpu_before
        running = False
        await sampler
    return result
