"""Leases in Redis: one holder at a time for a job that several processes could run (the report builds).

lease:{name}    the holder's id, expiring with the lease
"""

from __future__ import annotations

from gateway.stores.guard import guarded
from gateway.stores.redis.client import DRIVER_ERRORS, RedisSource

# Only the holder may change its lease: compare, then set the new expiry (ms) or delete when it is 0.
_HOLD = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if tonumber(ARGV[2]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) else redis.call('DEL', KEYS[1]) end
return 1
"""


def key(name: str) -> str:
    return f"lease:{name}"


async def acquire(source: RedisSource, name: str, holder: str, seconds: float) -> bool:
    """Take the lease for ``seconds`` if nobody holds it."""
    taken = await guarded(
        source,
        source.timeout,
        source.client.set(key(name), holder, nx=True, px=int(seconds * 1000)),
        DRIVER_ERRORS,
        operation="lease_acquire",
        keys=[name],
    )
    return bool(taken)


async def hold(source: RedisSource, name: str, holder: str, seconds: float) -> bool:
    """Keep the lease ``seconds`` more from now (0: release it), if ``holder`` still holds it."""
    kept = await guarded(
        source,
        source.timeout,
        source.client.eval(_HOLD, 1, key(name), holder, str(int(seconds * 1000))),
        DRIVER_ERRORS,
        operation="lease_hold",
        keys=[name],
    )
    return bool(kept)
