"""Load from wrk (Debian's ``wrk``, C, one thread here): requests per second and latency percentiles, with the
CPU time and peak RSS of the server process measured over the same seconds.

wrk cycles through the given requests (a Lua script made per run); its ``--latency`` report gives p50, p90, p99.
Install it with ``apt-get install wrk`` (the bench says so when it is missing).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson
from cache import cpu_seconds  # bench/ is sys.path[0] when run as a script

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


async def run(url: str, calls: Sequence[Call], *, connections: int, seconds: float, pid: int) -> Result:
    """wrk against ``url`` for ``seconds`` with ``connections`` connections, cycling through ``calls``."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_lua(calls))
    peak = rss_mib(pid)
    cpu_before = cpu_seconds(pid)
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
    )


def json_post(path: str, body: object, headers: dict[str, str] | None = None) -> Call:
    merged = {"Content-Type": "application/json", **(headers or {})}
    return Call("POST", path, orjson.dumps(body), tuple(merged.items()))
