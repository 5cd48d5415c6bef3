"""Grouping for keys that carry arguments: keys sharing the same arguments share one round trip."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import TypeVar

K = TypeVar("K", bound=Hashable)
G = TypeVar("G", bound=Hashable)
R = TypeVar("R")


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
