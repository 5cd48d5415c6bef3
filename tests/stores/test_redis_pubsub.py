"""The per-process pub/sub hub against the real Redis: one connection, SUBSCRIBE per channel (not per listener),
UNSUBSCRIBE when the last listener leaves, a lost connection ends every listener, and a watcher gets heartbeats in
order with the messages."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from gateway.config import Settings
from gateway.errors import SourceError, SourceUnavailable
from gateway.stores import Sources
from gateway.stores.redis.pubsub import Channels, Heartbeat, Listener
from tests.conftest import eventually

# The hub's connection name (the apps of the test session hold connections of their own, named by the pid).
NAME = f"test-pubsub-{uuid.uuid4().hex[:8]}"


@pytest_asyncio.fixture
async def channels(sources: Sources, settings: Settings) -> AsyncIterator[Channels]:
    hub = Channels(publisher=sources.redis.client, settings=settings, timeout=settings.source_timeout_s, name=NAME)
    yield hub
    await hub.close()


async def subscribers(sources: Sources, channel: str) -> int:
    return int((await sources.redis.client.pubsub_numsub(channel))[0][1])


async def hub_connections(sources: Sources) -> list[dict[str, str]]:
    return [c for c in await sources.redis.client.client_list() if c.get("name") == NAME]


async def next_of(listener: Listener) -> bytes:
    return await asyncio.wait_for(anext(listener), 10)


async def test_one_connection_one_subscribe_per_channel(sources: Sources, channels: Channels) -> None:
    x, y = f"test:{uuid.uuid4().hex}:x", f"test:{uuid.uuid4().hex}:y"
    before = len(await hub_connections(sources))
    async with channels.listen(x) as first, channels.listen(y) as other:
        async with channels.listen(x) as second:
            assert len(await hub_connections(sources)) == before + 1  # one connection for every listener
            assert await subscribers(sources, x) == 1  # one SUBSCRIBE, two listeners
            assert await subscribers(sources, y) == 1
            assert await channels.publish(x, b"to x") == 1
            assert await channels.publish(y, b"to y") == 1
            assert await next_of(first) == b"to x"
            assert await next_of(second) == b"to x"
            assert await next_of(other) == b"to y"  # x's message never reached y's listener
        assert await subscribers(sources, x) == 1  # the first listener of x is still there
        await channels.publish(x, b"again")
        assert await next_of(first) == b"again"

    async def unsubscribed() -> bool:
        return await subscribers(sources, x) == 0 and await subscribers(sources, y) == 0

    assert await eventually(unsubscribed, timeout=10)


async def test_a_lost_connection_ends_every_listener_and_the_next_one_reconnects(
    sources: Sources, channels: Channels
) -> None:
    channel = f"test:{uuid.uuid4().hex}"
    async with channels.listen(channel) as a, channels.listen(channel) as b:
        (connection,) = [c for c in await hub_connections(sources) if int(c["sub"]) > 0]
        await sources.redis.client.client_kill_filter(_id=connection["id"])  # only this hub's connection
        for listener in (a, b):
            with pytest.raises(SourceUnavailable):
                await next_of(listener)

    async def gone() -> bool:  # Redis frees the closed connection on its next event-loop turn
        return await subscribers(sources, channel) == 0

    assert await eventually(gone, timeout=10)
    async with channels.listen(channel) as again:
        assert await subscribers(sources, channel) == 1
        await channels.publish(channel, b"back")
        assert await next_of(again) == b"back"


async def test_a_watcher_gets_heartbeats_after_the_messages_published_before_their_ping(
    sources: Sources, settings: Settings
) -> None:
    hub = Channels(
        publisher=sources.redis.client,
        settings=settings,
        timeout=settings.source_timeout_s,
        heartbeat_s=0.05,
        name=NAME,
    )
    channel = f"test:{uuid.uuid4().hex}"
    seen: list[bytes | Heartbeat | SourceError] = []
    try:
        async with hub.listen(channel, watch=seen.append) as listener:

            async def beats() -> list[Heartbeat]:
                return [item for item in seen if isinstance(item, Heartbeat)]

            assert await eventually(beats, timeout=10, interval=0.02)
            published = time.monotonic()
            await hub.publish(channel, b"before")

            async def answered_after_publishing() -> bool:
                return any(isinstance(item, Heartbeat) and item.sent >= published for item in seen)

            assert await eventually(answered_after_publishing, timeout=10, interval=0.02)
            first_after = next(
                i for i, item in enumerate(seen) if isinstance(item, Heartbeat) and item.sent >= published
            )
            assert b"before" in seen[:first_after]  # the message came before the heartbeat of any later PING
            sent = [item.sent for item in seen if isinstance(item, Heartbeat)]
            assert sent == sorted(sent)
            (connection,) = [c for c in await hub_connections(sources) if int(c["sub"]) > 0]
            await sources.redis.client.client_kill_filter(_id=connection["id"])
            await asyncio.wait_for(listener.ended.wait(), 10)
        assert isinstance(seen[-1], SourceUnavailable)  # the watcher is told the connection is lost
    finally:
        await hub.close()
