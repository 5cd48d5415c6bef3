"""Carts in Redis: one hash per cart, product id → quantity, expiring ``ttl`` seconds after its last change.

    cart:{user_id}              a signed-in user's cart (also snapshotted to MySQL: mysql/carts.py)
    cart:session:{session_id}   a guest's cart
    lock:checkout:{user_id}     held while that user's cart becomes an order

Every change is one Lua script, so it is atomic: the caps (quantity per product, distinct products) are checked
and applied in the same step, and a merge adds the guest's lines and deletes the guest's cart in one step (merging
twice, even concurrently, never counts a line twice). A script that changes a user's cart is handed the MySQL
snapshot as a *seed*: when the key is missing (Redis lost it) the seed is written first, so a change after a Redis
loss starts from the snapshot, never from an empty cart. Every script answers ``[status, changed, field, value,
…]``: the cart as it is afterwards. An empty hash does not exist in Redis: an empty cart is a missing key.

In a Redis Cluster the two carts of a merge live in different slots (they share no hash tag: a guest's session
belongs to no user until the merge), so a merge is two steps there: one script *claims* the guest's cart (reads and
deletes it: of concurrent merges only one gets its lines, none counts a line twice), a second adds the lines to the
user's cart; when that is refused (too many lines) or fails, the lines are given back to the guest's cart. A process
that dies between the steps loses the guest's lines (a guest cart is not snapshotted anywhere).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.stores.guard import guarded
from gateway.stores.redis.client import DRIVER_ERRORS, RedisSource

Items = dict[int, int]  # product id → quantity

# ARGV[1] the cart's TTL after a change, ARGV[2] the seed as JSON ('' for none), ARGV[3] the seed's TTL;
# the operation's own arguments follow from ARGV[4]. KEYS[1] is the cart answered with.
_PRELUDE = """
local function reply(status, changed)
  local out = {status, changed}
  local all = redis.call('HGETALL', KEYS[1])
  for i = 1, #all do out[#out + 1] = all[i] end
  return out
end
if ARGV[2] ~= '' and redis.call('EXISTS', KEYS[1]) == 0 then
  local seed = cjson.decode(ARGV[2])
  for i = 1, #seed do redis.call('HSET', KEYS[1], seed[i][1], seed[i][2]) end
  if #seed > 0 then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
end
"""

_RESTORE = _PRELUDE + "return reply('ok', 0)\n"

# ARGV[4] product id, ARGV[5] quantity to add, ARGV[6] most of one product, ARGV[7] most distinct products.
_ADD = (
    _PRELUDE
    + """
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[4]) or '0')
if current + tonumber(ARGV[5]) > tonumber(ARGV[6]) then return reply('too_many_units', 0) end
if current == 0 and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[7]) then return reply('too_many_lines', 0) end
redis.call('HINCRBY', KEYS[1], ARGV[4], ARGV[5])
redis.call('EXPIRE', KEYS[1], ARGV[1])
return reply('ok', 1)
"""
)

# ARGV[4] product id, ARGV[5] quantity to take off ('' for the whole line).
_REMOVE = (
    _PRELUDE
    + """
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[4]) or '0')
if current == 0 then return reply('ok', 0) end
if ARGV[5] == '' or tonumber(ARGV[5]) >= current then
  redis.call('HDEL', KEYS[1], ARGV[4])
else
  redis.call('HINCRBY', KEYS[1], ARGV[4], -tonumber(ARGV[5]))
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return reply('ok', 1)
"""
)

# ARGV[4] the ordered lines as JSON [[product id, quantity], …]: each is taken off (lines added meanwhile stay).
_TAKE = (
    _PRELUDE
    + """
local changed = 0
for _, line in ipairs(cjson.decode(ARGV[4])) do
  local current = tonumber(redis.call('HGET', KEYS[1], line[1]) or '0')
  if current > 0 then
    changed = 1
    local left = current - tonumber(line[2])
    if left > 0 then redis.call('HSET', KEYS[1], line[1], left) else redis.call('HDEL', KEYS[1], line[1]) end
  end
end
if changed == 1 and redis.call('EXISTS', KEYS[1]) == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return reply('ok', changed)
"""
)

# KEYS[2] the guest's cart; ARGV[4] most of one product (sums are capped), ARGV[5] most distinct products.
_MERGE = (
    _PRELUDE
    + """
local guest = redis.call('HGETALL', KEYS[2])
if #guest == 0 then return reply('ok', 0) end
local lines = redis.call('HLEN', KEYS[1])
for i = 1, #guest, 2 do
  if redis.call('HEXISTS', KEYS[1], guest[i]) == 0 then lines = lines + 1 end
end
if lines > tonumber(ARGV[5]) then return reply('too_many_lines', 0) end
for i = 1, #guest, 2 do
  local total = tonumber(redis.call('HGET', KEYS[1], guest[i]) or '0') + tonumber(guest[i + 1])
  redis.call('HSET', KEYS[1], guest[i], math.min(total, tonumber(ARGV[4])))
end
redis.call('DEL', KEYS[2])
redis.call('EXPIRE', KEYS[1], ARGV[1])
return reply('ok', 1)
"""
)

# Cluster merge, step 1 on the guest's cart: its lines and remaining life (ms), and the cart deleted.
_CLAIM = """
local lines = redis.call('HGETALL', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
redis.call('DEL', KEYS[1])
lines[#lines + 1] = tostring(ttl)
return lines
"""

# Cluster merge, step 2 on the user's cart: ARGV[4], ARGV[5] as for _MERGE, ARGV[6] the claimed lines as JSON
# [[product id, quantity], …].
_MERGE_LINES = (
    _PRELUDE
    + """
local guest = cjson.decode(ARGV[6])
if #guest == 0 then return reply('ok', 0) end
local lines = redis.call('HLEN', KEYS[1])
for i = 1, #guest do
  if redis.call('HEXISTS', KEYS[1], guest[i][1]) == 0 then lines = lines + 1 end
end
if lines > tonumber(ARGV[5]) then return reply('too_many_lines', 0) end
for i = 1, #guest do
  local total = tonumber(redis.call('HGET', KEYS[1], guest[i][1]) or '0') + tonumber(guest[i][2])
  redis.call('HSET', KEYS[1], guest[i][1], math.min(total, tonumber(ARGV[4])))
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
return reply('ok', 1)
"""
)

# Cluster merge, undone: the claimed lines back into the guest's cart (added to what came meanwhile), ARGV[1] its
# remaining life in ms, ARGV[2] the lines as JSON.
_GIVE_BACK = """
for _, line in ipairs(cjson.decode(ARGV[2])) do redis.call('HINCRBY', KEYS[1], line[1], line[2]) end
if tonumber(ARGV[1]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return 1
"""

# Deletes the lock only while it still holds this caller's token (an expired lock may be someone else's now).
_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(frozen=True, slots=True)
class CartState:
    """The cart after a script: ``status`` is ``ok``, ``too_many_units`` or ``too_many_lines`` (nothing changed)."""

    status: str
    changed: bool
    items: Items


@dataclass(frozen=True, slots=True)
class Seed:
    """A snapshot to write first when the cart's key is missing, and how long it has left to live."""

    items: Items
    ttl_s: int


def user_key(user_id: int) -> str:
    return f"cart:{user_id}"


def guest_key(session_id: str) -> str:
    return f"cart:session:{session_id}"


def checkout_lock_key(user_id: int) -> str:
    return f"lock:checkout:{user_id}"


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _items(flat: Sequence[bytes | str]) -> Items:
    pairs = [(_text(flat[i]), _text(flat[i + 1])) for i in range(0, len(flat), 2)]
    return {int(field): int(value) for field, value in pairs}


def _lines(items: Mapping[int, int]) -> str:
    return json.dumps([[str(product_id), str(quantity)] for product_id, quantity in sorted(items.items())])


async def _run(
    source: RedisSource,
    script: str,
    operation: str,
    keys: Sequence[str],
    args: Sequence[Any],
    *,
    ttl_s: int,
    seed: Seed | None,
) -> CartState:
    seed_args = (_lines(seed.items), max(1, seed.ttl_s)) if seed is not None and seed.items else ("", 1)
    call = source.client.register_script(script)(keys=list(keys), args=[ttl_s, *seed_args, *args])
    answer = await guarded(source, source.timeout, call, DRIVER_ERRORS, operation=operation, keys=keys)
    return CartState(_text(answer[0]), int(answer[1]) == 1, _items(answer[2:]))


async def read(source: RedisSource, *, key: str) -> Items:
    flat = await guarded(
        source, source.timeout, source.client.hgetall(key), DRIVER_ERRORS, operation="cart_read", keys=[key]
    )
    return {int(_text(field)): int(_text(value)) for field, value in flat.items()}


async def restore(source: RedisSource, *, key: str, seed: Seed) -> Items:
    """Write ``seed`` unless the cart exists (someone changed it meanwhile); the cart as it is then."""
    return (await _run(source, _RESTORE, "cart_restore", [key], [], ttl_s=seed.ttl_s, seed=seed)).items


async def add(
    source: RedisSource,
    *,
    key: str,
    product_id: int,
    quantity: int,
    max_quantity: int,
    max_lines: int,
    ttl_s: int,
    seed: Seed | None = None,
) -> CartState:
    args = [product_id, quantity, max_quantity, max_lines]
    return await _run(source, _ADD, "cart_add", [key], args, ttl_s=ttl_s, seed=seed)


async def remove(
    source: RedisSource, *, key: str, product_id: int, quantity: int | None, ttl_s: int, seed: Seed | None = None
) -> CartState:
    args = [product_id, "" if quantity is None else quantity]
    return await _run(source, _REMOVE, "cart_remove", [key], args, ttl_s=ttl_s, seed=seed)


async def take(
    source: RedisSource, *, key: str, lines: Mapping[int, int], ttl_s: int, seed: Seed | None = None
) -> CartState:
    """Take the ordered ``lines`` off the cart (what was added since the order was read stays)."""
    return await _run(source, _TAKE, "cart_take", [key], [_lines(lines)], ttl_s=ttl_s, seed=seed)


async def merge(
    source: RedisSource,
    *,
    key: str,
    guest: str,
    max_quantity: int,
    max_lines: int,
    ttl_s: int,
    seed: Seed | None = None,
) -> CartState:
    """Add the ``guest`` cart's lines into the cart at ``key`` (each capped at ``max_quantity``), then delete it."""
    if not source.cluster:
        return await _run(source, _MERGE, "cart_merge", [key, guest], [max_quantity, max_lines], ttl_s=ttl_s, seed=seed)
    claim = source.client.eval(_CLAIM, 1, guest)
    claimed = await guarded(source, source.timeout, claim, DRIVER_ERRORS, operation="cart_claim", keys=[guest])
    lines = _lines(_items(claimed[:-1]))
    try:
        state = await _run(
            source, _MERGE_LINES, "cart_merge", [key], [max_quantity, max_lines, lines], ttl_s=ttl_s, seed=seed
        )
    except BaseException:
        await _give_back(source, guest, lines, int(claimed[-1]))
        raise
    if state.status != "ok":
        await _give_back(source, guest, lines, int(claimed[-1]))
    return state


async def _give_back(source: RedisSource, guest: str, lines: str, ttl_ms: int) -> None:
    if lines == "[]":
        return
    call = source.client.eval(_GIVE_BACK, 1, guest, ttl_ms, lines)
    await guarded(source, source.timeout, call, DRIVER_ERRORS, operation="cart_give_back", keys=[guest])


async def lock(source: RedisSource, *, key: str, ttl_s: float) -> str | None:
    """A token when the lock was free (it expires after ``ttl_s``), else None."""
    token = uuid.uuid4().hex
    acquired = await guarded(
        source,
        source.timeout,
        source.client.set(key, token, nx=True, px=max(1, int(ttl_s * 1000))),
        DRIVER_ERRORS,
        operation="lock",
        keys=[key],
    )
    return token if acquired else None


async def unlock(source: RedisSource, *, key: str, token: str) -> None:
    call = source.client.register_script(_UNLOCK)(keys=[key], args=[token])
    await guarded(source, source.timeout, call, DRIVER_ERRORS, operation="unlock", keys=[key])


async def delete_keys(source: RedisSource, keys: Sequence[str]) -> int:
    """Delete these keys (one command): what Redis holds of a forgotten user."""
    if not keys:
        return 0
    deleted: int = await guarded(
        source, source.timeout, source.client.delete(*keys), DRIVER_ERRORS, operation="delete", keys=list(keys)
    )
    return deleted
