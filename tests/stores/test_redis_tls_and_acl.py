"""What GATEWAY_REDIS_URL says reaches every Redis client of the gateway (the pooled client the caches, APQ and carts
use, and the pub/sub connection): an ACL user name with its password (``ACL SETUSER`` on the local Redis), and TLS
(``rediss://``, a redis-server of the test's own with a self-signed certificate, whose default user is off, so a
client that lost the user name could not even connect). ``CLIENT LIST`` shows which user each connection is."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import pytest_asyncio
from redis.asyncio import Redis

from gateway.config import Settings
from gateway.stores.redis import cache, carts, persisted
from gateway.stores.redis.client import RedisSource
from tests.conftest import make_test_settings

USER = f"gw-acl-{uuid.uuid4().hex[:8]}"
PASSWORD = uuid.uuid4().hex


def _local_port() -> int:
    return urlsplit(Settings().redis_url).port or 6379


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """A redis-server speaking TLS only, on the port 7 after the local Redis's, with one ACL user."""
    openssl = shutil.which("openssl")
    assert openssl, "openssl is needed to make the test certificate"
    folder = tmp_path_factory.mktemp("redis-tls")
    key, cert = str(folder / "key.pem"), str(folder / "cert.pem")
    request = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"]
    subprocess.run(
        [openssl, *request, "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert],
        check=True,
        capture_output=True,
    )
    port = _local_port() + 7
    tls = [
        "--tls-port",
        str(port),
        "--tls-cert-file",
        str(folder / "cert.pem"),
        "--tls-key-file",
        str(folder / "key.pem"),
    ]
    tls += ["--tls-ca-cert-file", str(folder / "cert.pem"), "--tls-auth-clients", "no"]
    users = ["--user", "default", "off", "--user", USER, "on", f">{PASSWORD}", "~*", "&*", "+@all"]
    plain = ["--port", "0", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(folder)]
    server = subprocess.Popen(
        ["redis-server", *plain, *tls, *users], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        yield port, folder / "cert.pem"
    finally:
        server.terminate()
        server.wait(10)


@pytest_asyncio.fixture
async def acl_user(settings: Settings) -> AsyncIterator[str]:
    """An ACL user on the local Redis (its URL), deleted afterwards."""
    admin = Redis.from_url(settings.redis_url)
    await admin.execute_command("ACL", "SETUSER", USER, "on", f">{PASSWORD}", "~*", "&*", "+@all")
    try:
        yield f"redis://{USER}:{PASSWORD}@127.0.0.1:{_local_port()}/1"
    finally:
        await admin.execute_command("ACL", "DELUSER", USER)
        await admin.aclose()


async def _every_family(source: RedisSource, settings: Settings) -> None:
    keys = cache.EntityKeys(f"test-acl-{uuid.uuid4().hex[:6]}", "v")
    source.channels.name = f"test-acl-pubsub-{uuid.uuid4().hex[:8]}"  # not the app's (same pid) in this process
    looked = await cache.lookup(source, keys, "product", [1, 2])
    assert await cache.fill(source, keys, [cache.Fill("product", 1, b"one", 30, looked[0].generation)]) == 1
    assert (await cache.lookup(source, keys, "product", [1]))[0].value == b"one"
    got: list[bytes] = []
    async with source.channels.listen(
        keys.channel, watch=lambda item: got.append(item) if isinstance(item, bytes) else None
    ):
        await cache.invalidate(source, keys, [("product", 1)])
        for _ in range(100):
            if got:
                break
            await asyncio.sleep(0.02)
        assert got
        assert got[0].endswith(b"product:1")
        sha = uuid.uuid4().hex * 2
        assert await persisted.put(source, sha256=sha, document="{ a }", ttl_s=60)
        assert await persisted.get(source, sha256=sha, ttl_s=60) == "{ a }"
        cart = carts.guest_key(f"acl-{uuid.uuid4().hex}")
        state = await carts.add(source, key=cart, product_id=3, quantity=2, max_quantity=9, max_lines=5, ttl_s=60)
        assert state.items == {3: 2}
        # The pooled connection and the pub/sub one are both the ACL user's.
        assert (await source.client.client_info())["user"] == USER
        pubsub = [c for c in await source.client.client_list() if c["name"] == source.channels.name]
        assert [c["user"] for c in pubsub] == [USER]
        await source.client.delete(cart, persisted.key(sha))


async def test_an_acl_user_from_the_url_reaches_every_client(acl_user: str) -> None:
    settings = make_test_settings(redis_url=acl_user)
    source = RedisSource(settings)
    try:
        await _every_family(source, settings)
    finally:
        await source.close()


async def test_tls_and_an_acl_user_from_a_rediss_url(tls_server: tuple[int, Path]) -> None:
    port, ca = tls_server
    url = f"rediss://{USER}:{PASSWORD}@127.0.0.1:{port}/0?ssl_ca_certs={ca}"
    settings = make_test_settings(redis_url=url)
    for _ in range(200):  # the server is starting: wait for its port (not through the source: its breaker counts)
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            break
        except OSError:
            await asyncio.sleep(0.05)
    source = RedisSource(settings)
    try:
        await source.ping()
        info = await source.server_info()
        assert info.server == "Redis"
        await _every_family(source, settings)
        # Without TLS the server does not answer at all (it speaks TLS only).
        plain = RedisSource(
            make_test_settings(redis_url=f"redis://{USER}:{PASSWORD}@127.0.0.1:{port}/0", source_timeout_s=0.5)
        )
        with pytest.raises(Exception):  # noqa: B017, PT011 (a timeout or a reset, either is a refusal)
            await plain.ping()
        await plain.close()
    finally:
        await source.close()
