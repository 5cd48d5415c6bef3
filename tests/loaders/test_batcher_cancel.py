"""loaders/batcher.py: a caller cancelled while it waits for a batch leaves the batch to the other callers (a bare
shared future would be cancelled for all of them, which crashed a request once graphql-core cancelled a nulled
subtree). Needs no server."""

from __future__ import annotations

import asyncio

from loaders.batcher import Batcher


async def test_a_cancelled_caller_does_not_cancel_the_shared_batch() -> None:
    release = asyncio.Event()
    batches: list[list[int]] = []

    async def fetch(keys: list[int]) -> list[int]:
        batches.append(keys)
        await release.wait()
        return [key * 10 for key in keys]

    batcher: Batcher[int, int] = Batcher(fetch, name="test")
    cancelled = asyncio.ensure_future(batcher.load(1))
    kept = asyncio.ensure_future(batcher.get_many([1, 2]))
    await asyncio.sleep(0.01)  # both wait on the one batch
    cancelled.cancel()
    await asyncio.sleep(0.01)
    release.set()
    assert await kept == [10, 20]
    assert cancelled.cancelled()
    assert batches == [[1, 2]]
