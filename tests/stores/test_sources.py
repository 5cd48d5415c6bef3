"""Each source connects to its real server, answers, and turns driver failures into the gateway's errors."""

from __future__ import annotations

import socket
import time

import pytest

from gateway.config import Settings
from gateway.errors import SourceAuthFailed, SourceTimeout, SourceUnavailable
from gateway.stores import Sources
from tests.conftest import make_test_settings

EXPECTED_SERVERS = {
    "mysql": ("MariaDB", "MySQL"),
    "mongodb": ("mongo-java-server", "FerretDB", "MongoDB"),
    "neo4j": ("neo4j kernel community", "Neo4j Kernel community"),
    "redis": ("Redis",),
}


@pytest.mark.parametrize("name", ["mysql", "mongodb", "neo4j", "redis"])
async def test_each_source_round_trips(sources: Sources, name: str) -> None:
    source = sources.by_name(name)  # type: ignore[arg-type]
    await source.ping()
    info = await source.server_info()
    assert info.source == name
    assert info.server in EXPECTED_SERVERS[name]
    assert info.version[:1].isdigit(), info.version


async def test_neo4j_is_the_5_26_lts(sources: Sources) -> None:
    info = await sources.neo4j.server_info()
    assert info.version.startswith("5.26."), info


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("name", ["mysql", "mongodb", "neo4j", "redis"])
async def test_a_source_with_nothing_listening_is_unavailable_within_its_timeout(name: str) -> None:
    port = _closed_port()
    base = Settings()
    settings = make_test_settings(
        source_timeout_s=1.0,
        mysql_url=f"mysql+asyncmy://gateway@127.0.0.1:{port}/gateway_test",
        mongo_url=f"mongodb://127.0.0.1:{port}/",
        neo4j_url=f"bolt://127.0.0.1:{port}",
        redis_url=f"redis://127.0.0.1:{port}/1",
    )
    assert base.source_timeout_s >= 1.0
    sources = Sources.create(settings)
    start = time.monotonic()
    try:
        with pytest.raises((SourceUnavailable, SourceTimeout)) as caught:
            await sources.by_name(name).ping()  # type: ignore[arg-type]
    finally:
        await sources.close()
    assert caught.value.source == name
    assert time.monotonic() - start < 3 * settings.source_timeout_s
    # The client-facing message names the store and never carries the driver's words.
    assert str(caught.value) in (f"{name} is unavailable", f"{name} did not answer within 1s")


async def test_neo4j_wrong_password_is_an_auth_failure() -> None:
    settings = make_test_settings(neo4j_password="not-the-password")
    sources = Sources.create(settings)
    try:
        with pytest.raises(SourceAuthFailed) as caught:
            await sources.neo4j.ping()
    finally:
        await sources.close()
    assert caught.value.code == "SOURCE_UNAVAILABLE"
    assert "not-the-password" not in str(caught.value)


async def test_mysql_wrong_password_is_unavailable_and_does_not_leak() -> None:
    settings = make_test_settings(mysql_password="not-the-password")
    sources = Sources.create(settings)
    try:
        with pytest.raises(SourceUnavailable) as caught:
            await sources.mysql.ping()
    finally:
        await sources.close()
    assert str(caught.value) == "mysql is unavailable"
    assert "1045" in caught.value.detail or "Access denied" in caught.value.detail
