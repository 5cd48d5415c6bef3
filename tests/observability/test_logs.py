"""Structured logs: one JSON object per line, each carrying the id of the request that logged it."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gateway.config import Settings
from gateway.jobs.seeding import SeedReport
from gateway.observability.logs import JsonFormatter, RequestIdFilter, log_format
from tests.conftest import make_test_settings, token_for
from tests.http.conftest import serve
from tests.serving import Served

ROOT = Path(__file__).resolve().parents[2]


class Lines(logging.Handler):
    """The JSON lines the gateway's handler would write, kept in a list."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.addFilter(RequestIdFilter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def lines() -> Iterator[list[str]]:
    handler = Lines()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler.lines
    finally:
        root.removeHandler(handler)


async def test_every_line_of_a_request_carries_its_id(lines: list[str], seeded: SeedReport) -> None:
    """Two requests at once, with Redis unreachable: each one's "cache bypassed" warning, logged from inside a
    DataLoader batch (a task of its own), carries that request's id and not the other's."""
    settings = make_test_settings(redis_url="redis://127.0.0.1:1/1")  # nothing listens there
    headers = {"Authorization": "Bearer " + token_for(943, admin=True)}
    async with serve(settings) as client:
        product, user = await asyncio.gather(
            client.post(
                "/graphql",
                json={"query": 'query ObsLogProduct { product(id: "7") { id title } }'},
                headers={**headers, "X-Request-Id": "obs-product-0001"},
            ),
            client.post(
                "/graphql",
                json={"query": 'query ObsLogUser { user(id: "7") { id name } }'},
                headers={**headers, "X-Request-Id": "obs-user-0001"},
            ),
        )
    assert product.json()["data"]["product"]["id"] == "7", product.json()
    assert user.json()["data"]["user"]["id"] == "7", user.json()
    entries = [json.loads(line) for line in lines]
    bypassed = [entry for entry in entries if entry["message"].startswith("cache bypassed")]
    product_line = next(e for e in bypassed if " product:" in e["message"])
    user_line = next(e for e in bypassed if " user:" in e["message"])
    assert product_line["request_id"] == "obs-product-0001"
    assert user_line["request_id"] == "obs-user-0001"
    assert product_line["level"] == "WARNING"
    assert product_line["logger"] == "gateway.cache"
    assert product_line["timestamp"].endswith("+00:00")


def test_outside_a_request_there_is_no_id_and_exceptions_are_kept(lines: list[str]) -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("gateway.test").exception("it failed", extra={"source": "mysql"})
    entry = json.loads(lines[-1])
    assert "request_id" not in entry
    assert entry["message"] == "it failed"
    assert entry["level"] == "ERROR"
    assert entry["source"] == "mysql"  # extra= fields become fields
    assert "ValueError: boom" in entry["exception"]


def test_auto_is_text_in_development_and_json_elsewhere() -> None:
    assert log_format(Settings(env="development")) == "text"
    assert log_format(Settings(env="development", log_format="json")) == "json"
    production = Settings(env="production", mysql_password="x" * 12, neo4j_password="y" * 12, auth_jwt_secret="z" * 32)
    assert log_format(production) == "json"


def test_the_serve_config_writes_json_lines_to_stderr() -> None:
    """What ``gateway serve`` hands uvicorn, applied in a process of its own: uvicorn's loggers included."""
    code = (
        "import logging\n"
        "from gateway.config import Settings\n"
        "from gateway.observability import logs\n"
        "logs.configure(Settings(log_format='json'))\n"
        "logging.getLogger('uvicorn.error').info('started')\n"
        "logging.getLogger('gateway.http').warning('careful %s', 'now')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=True)
    entries = [json.loads(line) for line in done.stderr.splitlines()]
    assert [(e["logger"], e["level"], e["message"]) for e in entries] == [
        ("uvicorn.error", "INFO", "started"),
        ("gateway.http", "WARNING", "careful now"),
    ]


@pytest.mark.usefixtures("seeded")
def test_gateway_serve_logs_json_lines(tmp_path: Path) -> None:
    """A real ``gateway serve`` with GATEWAY_LOG_FORMAT=json: every line it writes is a JSON object, uvicorn's own
    (startup, access log) included; /metrics answers over the socket."""
    served = Served(tmp_path / "serve.log", GATEWAY_LOG_FORMAT="json")  # the test databases, migrated by `seeded`
    try:
        scraped = httpx.get(f"{served.base}/metrics", timeout=10)
        assert scraped.status_code == 200
        assert "gateway_outbox_pending" in scraped.text
    finally:
        served.stop()
    output = served.output()
    entries = [json.loads(line) for line in output.splitlines() if line.strip()]
    messages = [(entry["logger"], entry["message"]) for entry in entries]
    assert ("uvicorn.error", "Application startup complete.") in messages, output
    assert any(logger == "uvicorn.access" and "GET /metrics" in message for logger, message in messages), output
