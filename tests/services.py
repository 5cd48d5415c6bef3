"""The shared servers, driven from tests: stopped and started through scripts/services, hung with SIGSTOP.

``GATEWAY_SERVICES_SCRIPT`` names the script that started the servers when it is not this checkout's (a git
worktree runs the main checkout's servers: its own copy would start a second set). Pausing sends SIGSTOP/SIGCONT
to the pid in that script's pid file itself, exactly as ``scripts/services pause|resume`` does, so it also works
with a copy of the script from before those commands existed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SERVICES = Path(os.environ.get("GATEWAY_SERVICES_SCRIPT", Path(__file__).resolve().parents[1] / "scripts" / "services"))


def services(*args: str) -> str:
    done = subprocess.run([str(SERVICES), *args], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def state_dir(script: Path = SERVICES) -> Path:
    """Where ``script`` keeps its servers' state (pid files, logs): GATEWAY_SERVICES_DIR, else its checkout's
    .services."""
    return Path(os.environ.get("GATEWAY_SERVICES_DIR", script.resolve().parents[1] / ".services"))


def _process_state(pid: int) -> str:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("State:"):
            return line.split()[1]
    return "?"


@contextmanager
def paused(name: str) -> Iterator[int]:
    """``name``'s server hung (SIGSTOP: its port still accepts connections, nothing answers) for the block, then
    woken (SIGCONT) whatever happens; yields its pid."""
    pid = int((state_dir() / "run" / f"{name}.pid").read_text())
    os.kill(pid, signal.SIGSTOP)
    try:
        deadline = time.monotonic() + 5
        while _process_state(pid) != "T":  # SIGSTOP is asynchronous
            assert time.monotonic() < deadline, f"{name} (pid {pid}) did not stop"
            time.sleep(0.02)
        yield pid
    finally:
        os.kill(pid, signal.SIGCONT)
