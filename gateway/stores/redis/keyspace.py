"""What a Redis (or each master of a cluster) holds, for /stats: keys counted by family, memory used, database size."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.stores.guard import guarded
from gateway.stores.redis.client import DRIVER_ERRORS, RedisSource


@dataclass(frozen=True, slots=True)
class Keyspace:
    counts: dict[str, int]  # keys per family
    complete: bool  # False when the scan stopped at its limit
    database_keys: int
    used_memory_bytes: int
    used_memory: str  # as Redis says it ("1.05M")


async def keyspace(source: RedisSource, families: Mapping[str, str], limit: int, timeout: float) -> Keyspace:
    """Count the keys of each family (name → key prefix; the first prefix a key starts with counts it) in one SCAN
    of at most ``limit`` keys (every master's, in a cluster), with the memory used and the database size."""

    async def read() -> Keyspace:
        counts = dict.fromkeys(families, 0)
        seen, complete = 0, True
        async for raw in source.client.scan_iter(count=1000):
            name = raw.decode() if isinstance(raw, bytes) else str(raw)
            family = next((f for f, prefix in families.items() if name.startswith(prefix)), None)
            if family is not None:
                counts[family] += 1
            seen += 1
            if seen >= limit:
                complete = False
                break
        memory: dict[str, Any] = await source.client.info("memory")
        if "used_memory" in memory:
            used, human = int(memory["used_memory"]), str(memory.get("used_memory_human", ""))
        else:  # a cluster answers per node
            used = sum(int(node["used_memory"]) for node in memory.values() if isinstance(node, dict))
            human = f"{used / 2**20:.2f}M"
        return Keyspace(counts, complete, int(await source.client.dbsize()), used, human)

    found: Keyspace = await guarded(source, timeout, read(), DRIVER_ERRORS, operation="stats")
    return found
