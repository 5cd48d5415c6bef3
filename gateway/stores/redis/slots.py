"""Multi-key commands in a Redis Cluster: keys grouped by slot, and scripts run one per slot, pipelined.

A script or MGET may name only keys of one slot in a cluster; on a single Redis every key is in one group.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis.crc import key_slot

from gateway.stores.redis.client import RedisSource

Call = tuple[str, list[str], list[Any]]  # a script, its keys, its arguments


def by_slot(source: RedisSource, names: Sequence[str]) -> list[list[int]]:
    """Indexes of ``names`` grouped by their slot (in first-seen order): one group on a single Redis."""
    if not source.cluster:
        return [list(range(len(names)))]
    groups: dict[int, list[int]] = {}
    for i, name in enumerate(names):
        groups.setdefault(key_slot(name.encode()), []).append(i)
    return list(groups.values())


async def eval_each(source: RedisSource, calls: Sequence[Call]) -> list[Any]:
    """Each (script, keys, args) as one EVAL, pipelined: one round trip (one per node in a cluster)."""
    if len(calls) == 1:
        script, names, args = calls[0]
        return [await source.client.eval(script, len(names), *names, *args)]
    pipe = source.client.pipeline(transaction=False)
    for script, names, args in calls:
        pipe.eval(script, len(names), *names, *args)
    return list(await pipe.execute())
