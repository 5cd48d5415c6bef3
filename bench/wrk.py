"""Load from wrk (Debian's ``wrk``, C, one thread here): requests per second and latency percentiles, with the
CPU time and peak RSS of the server process measured over the same seconds, wrk's own CPU and the machine's.

wrk cycles through the given requests (a Lua script made per run), or runs a script of the caller's; its
``--latency`` report gives p50, p90, p99. Install it with ``apt-get install wrk`` (the bench says so when it is
missing).
"""

from __future__ import annotations

import asyncio
import os
import re
import resource
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


@dataclass(frozen=True, slots=True)
class Call:
    method: str
    path: str
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Result:
    connections: int
    seconds: float
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    failed: int  # non-2xx answers and socket errors
    cpu_ms: float  # server CPU per request
    rss_mib: float  # server peak RSS during the run
    server_cpu: float = 0.0  # share of one core over the run: the server process
    client_cpu: float = 0.0  # wrk
    machine_cpu: float = 0.0  # every process, all cores (up to their number)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs since boot: busy excludes idle and iowait."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    total = sum(values[:8])  # guest time is already in user
    return total - values[3] - values[4], total


def children_cpu() -> float:
    """CPU seconds of this process's children that have ended (wrk, once waited for)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def available() -> bool:
    return shutil.which("wrk") is not None


def _lua(calls: Sequence[Call]) -> str:
    lines = ["local calls = {}", "init = function(args)"]
    for i, call in enumerate(calls, 1):
        headers = "{" + ", ".join(f"[ {_quote(k)} ] = {_quote(v)}" for k, v in call.headers) + "}"
        body = _quote(call.body.decode()) if call.body else "nil"
        lines.append(f"  calls[{i}] = wrk.format({_quote(call.method)}, {_quote(call.path)}, {headers}, {body})")
    lines += ["end", "local i = 0", "request = function()", "  i = i % #calls + 1", "  return calls[i]", "end"]
    return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    level = "=" * 4
    while f"]{level}]" in text:
        level += "="
    return f"[{level}[{text}]{level}]"


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text.strip()).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def run(
    url: str, calls: Sequence[Call], *, connections: int, seconds: float, pid: int, lua: str | None = None
) -> Result:
    """wrk against ``url`` for ``seconds`` with ``connections`` connections, cycling through ``calls`` (or running
    the script ``lua``)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua if lua is not None else _lua(calls))
    peak = rss_mib(pid)
    cpu_before, client_before, machine_before = cpu_seconds(pid), children_cpu(), machine_busy()
    process = await asyncio.create_subprocess_exec(
        "wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "60s", "--latency", "-s", script.name, url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    waiting = asyncio.ensure_future(process.communicate())
    while not waiting.done():
        peak = max(peak, rss_mib(pid))
        await asyncio.wait((waiting,), timeout=0.5)
    out = (await waiting)[0].decode()
    cpu = cpu_seconds(pid) - cpu_before
    client = children_cpu() - client_before
    machine_after = machine_busy()
    busy, total = machine_after[0] - machine_before[0], machine_after[1] - machine_before[1]
    os.unlink(script.name)
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    failed = sum(int(n) for n in re.findall(r"(?:Non-2xx or 3xx responses|connect|read|write|timeout)[: ]+(\d+)", out))
    return Result(
        connections=connections,
        seconds=seconds,
        requests=requests,
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        p50_ms=_ms(re.search(r"\s50%\s+(\S+)", out).group(1)),  # type: ignore[union-attr]
        p99_ms=_ms(re.search(r"\s99%\s+(\S+)", out).group(1)),  # type: ignore[union-attr]
        failed=failed,
        cpu_ms=cpu * 1000 / requests if requests else float("nan"),
        rss_mib=peak,
        server_cpu=cpu / seconds,
        client_cpu=client / seconds,
        machine_cpu=busy / total * (os.cpu_count() or 1) if total else 0.0,
    )


def json_post(path: str, body: object, headers: dict[str, str] | None = None) -> Call:
    merged = {"Content-Type": "application/json", **(headers or {})}
    return Call("POST", path, orjson.dumps(body), tuple(merged.items()))
