"""The `gateway` command as a user runs it: a real uvicorn process, its lifespan, and the helper commands."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from gateway.cli import service_env
from gateway.config import Settings

GATEWAY = str(Path(sys.executable).with_name("gateway"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_answers_then_shuts_down_cleanly(settings: Settings) -> None:
    port = _free_port()
    env = {**os.environ, "GATEWAY_PORT": str(port), "GATEWAY_MONGO_DATABASE": settings.mongo_database}
    proc = subprocess.Popen([GATEWAY, "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "gateway serve did not answer /health within 30s"
            time.sleep(0.2)
        ready = httpx.get(f"{base}/ready", timeout=10)
        assert ready.status_code == 200, ready.text
        page = httpx.get(f"{base}/graphql", headers={"Accept": "text/html"}, timeout=10)
        assert "graphiql" in page.text.lower()
        result = httpx.post(f"{base}/graphql", json={"query": "{ backends { neo4j { version } } }"}, timeout=10)
        assert result.json()["data"]["backends"]["neo4j"]["version"].startswith("5.26.")
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    # uvicorn shuts down gracefully, then re-raises the signal it caught, as a process killed by it would.
    assert proc.returncode in (0, -signal.SIGTERM), output
    assert "Application shutdown complete" in output  # the lifespan ran its exit (clients closed)
    assert f"127.0.0.1:{port}" in output  # bound to loopback by default


def test_service_env_matches_the_settings() -> None:
    out = subprocess.run([GATEWAY, "service-env"], capture_output=True, text=True, check=True).stdout
    printed = dict(line.split("=", 1) for line in out.splitlines())
    expected = service_env(Settings())
    assert printed.keys() == {f"SVC_{key}" for key in expected}
    assert printed["SVC_MYSQL_PORT"] == "3306"
    assert printed["SVC_NEO4J_PORT"] == "7687"
    assert printed["SVC_MYSQL_DATABASE"] == "gateway"


def test_service_env_follows_gateway_variables() -> None:
    env = {**os.environ, "GATEWAY_REDIS_URL": "redis://127.0.0.1:6390/0", "GATEWAY_MYSQL_PASSWORD": "it's"}
    out = subprocess.run([GATEWAY, "service-env"], capture_output=True, text=True, check=True, env=env).stdout
    assert "SVC_REDIS_PORT=6390" in out.splitlines()
    assert """SVC_MYSQL_PASSWORD='it'"'"'s'""" in out.splitlines()  # shell-quoted


def test_ping_fails_with_a_message_when_nothing_listens() -> None:
    env = {**os.environ, "GATEWAY_REDIS_URL": f"redis://127.0.0.1:{_free_port()}/0"}
    done = subprocess.run([GATEWAY, "ping", "redis"], capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 1
    assert "redis is unavailable" in done.stderr
