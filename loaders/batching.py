"""How every DataLoader of the gateway is built, and the grouping helpers for keys that carry arguments."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import TypeVar

from strawberry.dataloader import DataLoader

from gateway.config import Settings
from gateway.observability.metrics import observe_batch

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")
G = TypeVar("G", bound=Hashable)
R = TypeVar("R")


def build(
    load_fn: Callable[[list[K]], Awaitable[Sequence[T | BaseException]]], settings: Settings, *, name: str = ""
) -> DataLoader[K, T]:
    """A per-request DataLoader: batches of at most ``loader_max_batch_size`` keys, each key fetched once.

    With ``loader_batching`` off every key is its own batch and nothing is shared: the naive one-query-per-item
    resolution, kept so benchmarks and explain can show what batching saves. Each batch's size is observed in
    ``gateway_dataloader_batch_size{loader=name}`` (``name`` defaults to the batch function's name).
    """
    counted = _counted(load_fn, name or getattr(load_fn, "__name__", "unnamed"))
    if settings.loader_batching:
        return DataLoader(load_fn=counted, max_batch_size=settings.loader_max_batch_size)
    return DataLoader(load_fn=counted, max_batch_size=1, cache=False)


def _counted(
    load_fn: Callable[[list[K]], Awaitable[Sequence[T | BaseException]]], name: str
) -> Callable[[list[K]], Awaitable[Sequence[T | BaseException]]]:
    async def load(keys: list[K]) -> Sequence[T | BaseException]:
        observe_batch(name, len(keys))
        return await load_fn(keys)

    return load


async def grouped(
    keys: Sequence[K],
    group_of: Callable[[K], G],
    fetch: Callable[[G, list[K]], Awaitable[Sequence[R]]],
) -> list[R]:
    """Fetch the keys of each group with one call (keys sharing the same arguments share one round trip)."""
    groups: dict[G, list[int]] = defaultdict(list)
    for index, key in enumerate(keys):
        groups[group_of(key)].append(index)
    answers = await asyncio.gather(*(fetch(group, [keys[i] for i in indexes]) for group, indexes in groups.items()))
    results: dict[int, R] = {}
    for indexes, values in zip(groups.values(), answers, strict=True):
        results.update(zip(indexes, values, strict=True))
    return [results[index] for index in range(len(keys))]
