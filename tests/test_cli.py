"""The `gateway` command as a user runs it: a real uvicorn process, its lifespan, and the helper commands."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from gateway.cli.services import service_env
from gateway.config import Settings
from tests.serving import free_port, wait_healthy

GATEWAY = str(Path(sys.executable).with_name("gateway"))


def test_serve_answers_then_shuts_down_cleanly(settings: Settings) -> None:
    port = free_port()
    env = {**os.environ, "GATEWAY_PORT": str(port), "GATEWAY_MONGO_DATABASE": settings.mongo_database}
    proc = subprocess.Popen([GATEWAY, "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, proc, within_s=30, interval_s=0.2)
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


def test_service_env_matches_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [name for name in os.environ if name.startswith("GATEWAY_")]:  # a checkout on other ports
        monkeypatch.delenv(name)
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
    env = {**os.environ, "GATEWAY_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    done = subprocess.run([GATEWAY, "ping", "redis"], capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 1
    assert "redis is unavailable" in done.stderr
