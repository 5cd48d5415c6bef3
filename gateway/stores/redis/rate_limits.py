"""Rate-limit token buckets in Redis: one hash per client bucket, charged by one Lua script for many at once.

    {namespace}:rl:{bucket}     t: tokens left (may be negative: a debt), at: when (Redis's clock, ms)

The script reads Redis's own clock (``TIME``), so every gateway process refills a bucket alike whatever its own
clock says. For each bucket it refills ``per_s`` tokens a second up to ``burst``, takes the charge off (a request is
charged after it ran, so the tokens may go below zero: a debt, never deeper than ``burst``) and answers what is left.
A bucket expires once it would be full again: an idle client costs Redis nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gateway.stores.guard import guarded
from gateway.stores.redis.client import DRIVER_ERRORS, RedisSource
from gateway.stores.redis.slots import Call, by_slot, eval_each

# KEYS: the buckets; ARGV: burst, per_s, charge for each bucket in turn. Answers the tokens left, as strings
# (a Lua number would be truncated to an integer in the reply).
_CHARGE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local out = {}
for i = 1, #KEYS do
  local burst = tonumber(ARGV[3 * i - 2])
  local per_ms = tonumber(ARGV[3 * i - 1]) / 1000
  local charge = tonumber(ARGV[3 * i])
  local state = redis.call('HMGET', KEYS[i], 't', 'at')
  local tokens = tonumber(state[1])
  local at = tonumber(state[2])
  if tokens == nil or at == nil then tokens = burst; at = now end
  tokens = math.min(burst, tokens + math.max(0, now - at) * per_ms) - charge
  if tokens < -burst then tokens = -burst end
  redis.call('HSET', KEYS[i], 't', tostring(tokens), 'at', tostring(now))
  redis.call('PEXPIRE', KEYS[i], math.ceil((burst - tokens) / per_ms) + 1000)
  out[i] = tostring(tokens)
end
return out
"""


@dataclass(frozen=True, slots=True)
class Charge:
    key: str  # the bucket's Redis key
    burst: int
    per_s: float
    cost: float


class Buckets:
    """The charge script against one Redis source (or cluster)."""

    def __init__(self, source: RedisSource) -> None:
        self.source = source

    async def charge(self, charges: Sequence[Charge]) -> list[float]:
        """Charge every bucket in one round trip; the tokens each has left (negative: in debt)."""
        if not charges:
            return []
        keys = [charge.key for charge in charges]
        groups = by_slot(self.source, keys)  # in a cluster, one script per slot (a client's buckets differ)
        calls: list[Call] = [
            (
                _CHARGE,
                [keys[i] for i in group],
                [part for i in group for part in (charges[i].burst, charges[i].per_s, charges[i].cost)],
            )
            for group in groups
        ]
        answers = await guarded(
            self.source, self.source.timeout, eval_each(self.source, calls), DRIVER_ERRORS, operation="rate_limit"
        )
        left = [0.0] * len(charges)
        for group, answer in zip(groups, answers, strict=True):
            for i, value in zip(group, answer, strict=True):
                left[i] = float(value)
        return left

    async def tokens(self, key: str) -> float | None:
        """The tokens a bucket had at its last charge (tests and /stats); None when it is full (expired)."""
        value = await guarded(
            self.source, self.source.timeout, self.source.client.hget(key, "t"), DRIVER_ERRORS, operation="rate_limit"
        )
        return None if value is None else float(value)
