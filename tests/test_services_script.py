"""scripts/services keeps its promises: idempotent, stops only what it started, fails loudly with the log."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from tests.services import state_dir
from tests.serving import free_port

SERVICES = str(Path(__file__).resolve().parents[1] / "scripts" / "services")


def run(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SERVICES, *args], capture_output=True, text=True, timeout=timeout, check=False, env=env or dict(os.environ)
    )


def _pids(state: Path) -> dict[str, str]:
    return {p.stem: p.read_text().strip() for p in (state / "run").glob("*.pid") if not p.stem.endswith(".server")}


def test_up_again_reuses_the_running_servers() -> None:
    state = state_dir(Path(SERVICES))
    before = _pids(state)
    done = run("up")
    assert done.returncode == 0, done.stderr
    for name in ("mysql", "redis", "mongodb", "neo4j"):
        assert f"{name}: running (pid {before[name]})" in done.stdout
    assert _pids(state) == before
    assert "apt-get" not in done.stderr  # nothing reinstalled


def test_status_shows_every_server_answering() -> None:
    done = run("status")
    assert done.returncode == 0, done.stderr
    lines = {line.split()[0]: line for line in done.stdout.splitlines()}
    assert set(lines) == {"mysql", "redis", "mongodb", "neo4j", "redis-cluster", "mysql-replica"}
    for optional in ("redis-cluster", "mysql-replica"):  # stopped unless started by name (scripts/test starts them)
        line = lines.pop(optional)
        assert line.endswith("answers") or line.split()[1] == "stopped", done.stdout
    assert all(line.endswith("answers") for line in lines.values()), done.stdout


@pytest.mark.services
def test_down_stops_only_what_this_checkout_started(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "GATEWAY_SERVICES_DIR": str(tmp_path), "GATEWAY_REDIS_URL": f"redis://127.0.0.1:{port}/0"}
    started = run("start", "redis", env=env)
    assert started.returncode == 0, started.stderr
    pid = int((tmp_path / "run" / "redis.pid").read_text())
    os.kill(pid, 0)  # alive

    stopped = run("down", env=env)
    assert stopped.returncode == 0, stopped.stderr
    assert "redis: stopped" in stopped.stdout
    assert "mysql: not running" in stopped.stdout  # this state dir never started one
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert all(
        f"{name} " in line and line.endswith("answers")
        for name, line in zip(("mysql", "redis", "mongodb", "neo4j"), run("status").stdout.splitlines(), strict=False)
    )  # the developer servers are untouched


def test_start_refuses_a_port_taken_by_someone_else(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        env = {**os.environ, "GATEWAY_SERVICES_DIR": str(tmp_path), "GATEWAY_REDIS_URL": f"redis://127.0.0.1:{port}/0"}
        done = run("start", "redis", env=env)
    assert done.returncode == 1
    assert f"port {port} on 127.0.0.1 is taken by a process this script did not start" in done.stderr
    assert not (tmp_path / "run" / "redis.pid").exists()


@pytest.mark.services
def test_a_server_that_cannot_start_fails_with_the_tail_of_its_log(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "GATEWAY_SERVICES_DIR": str(tmp_path),
        "GATEWAY_NEO4J_URL": f"bolt://127.0.0.1:{free_port()}",
        "GATEWAY_NEO4J_HEAP": "1k",  # the JVM refuses to start with this heap
    }
    done = run("start", "neo4j", env=env, timeout=120)
    assert done.returncode == 1
    assert "neo4j did not come up: the process exited" in done.stderr
    assert "--- last lines of" in done.stderr
    assert "heap" in done.stderr.lower()  # the JVM's own words, from the log


def test_unknown_server_name_is_refused() -> None:
    done = run("stop", "postgres")
    assert done.returncode == 1
    assert "unknown server 'postgres'" in done.stderr
