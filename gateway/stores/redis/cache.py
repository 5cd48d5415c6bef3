"""The merged-entity cache and the response cache in Redis: values the gateway serialized itself, read with one
MGET, written back and invalidated with Lua scripts.

    {namespace}:{version}:{{kind}:{id}}       a cached entity (bytes), with a TTL per kind
    {namespace}:gen:{{kind}:{id}}             its generation: bumped by every invalidation
    {{namespace}}:{version}:response.2:{digest} a cached GraphQL response (gateway/http/response_cache.py): its
                                              tags, a newline, then the body
    {{namespace}}:tag:{kind}:{id}             the responses that hold that entity: dropped with it
    {{namespace}}:epoch                       moves with every invalidation

    channel {keys.channel}                    every invalidation, published by the script that makes it:
                                              "<epoch> <kind>:<id> <kind>:<id> …" (gateway/memory/invalidations.py)

Hash tags (the part in braces, literally in the key) say which keys a Redis Cluster keeps in one slot, so that a
script may touch them together: an entity's value and its generation share ``{kind:id}`` (the entity cache spreads
over the cluster's masters), and the response family (the epoch, every response, every tag set, and the channel,
whose subscriber then sits on the node that publishes) shares ``{namespace}``: one slot, one master. On a single
Redis the braces are only characters. Several entities in a cluster are looked up with one MGET per slot
(``mget_nonatomic``: one pipelined round trip per node) and filled with one script per slot, pipelined likewise.

A fill is conditional on the generation: a reader notes each key's generation in the same MGET that found the
miss, and the write-back stores a value only if the generation is still the one it saw. So a reader that fetched
from MySQL just before a mutation committed can never put the old value back after the mutation dropped it: the
mutation bumped the generation, and the stale fill is refused. Generations carry no version, so they outlive a
deploy that changes the cached shapes.

An invalidation is two scripts, in this order: the entities' values go and their generations move (per slot); then
the epoch moves, the invalidation is published and the tagged responses go. A response computed in between read an
epoch that then moved, so it is not stored; a lookup in between may still hit an old response, as it could before
the invalidation began (the mutation has not returned).
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.stores.guard import guarded
from gateway.stores.redis.client import DRIVER_ERRORS, RedisSource
from gateway.stores.redis.slots import Call, by_slot, eval_each

# KEYS: data_1, gen_1, data_2, gen_2, …; ARGV: ttl_ms_1, seen_1, value_1, … ('' = no generation yet).
_FILL = """
local written = 0
for i = 1, #KEYS / 2 do
  local seen = ARGV[3 * i - 1]
  if (redis.call('GET', KEYS[2 * i]) or '') == seen then
    redis.call('SET', KEYS[2 * i - 1], ARGV[3 * i], 'PX', ARGV[3 * i - 2])
    written = written + 1
  end
end
return written
"""

# KEYS: data_1, gen_1, data_2, gen_2, …; ARGV[1]: how long a generation lives (ms), longer than any TTL. Each
# entity's cached value goes and its generation moves.
_DROP_ENTITIES = """
for i = 1, #KEYS, 2 do
  redis.call('DEL', KEYS[i])
  redis.call('INCR', KEYS[i + 1])
  redis.call('PEXPIRE', KEYS[i + 1], ARGV[1])
end
return #KEYS / 2
"""

# With MySQL replicas: KEYS: recent_1, …; ARGV[1]: how long (ms). Each entity is marked as invalidated within the
# replicas' sticky window: a reader that misses it then fetches it from the MySQL primary (loaders/cached.py).
_MARK_RECENT = """
for i = 1, #KEYS do redis.call('SET', KEYS[i], '1', 'PX', ARGV[1]) end
return #KEYS
"""

# KEYS: epoch, tag_1, tag_2, …; ARGV[1]: the invalidation channel; ARGV[2…]: "kind:id" of each entity. The new epoch
# and the entities are published first (a script is not undone halfway: an epoch that moved is always published),
# then every cached response tagged with one of them goes, with the tag sets.
_DROP_RESPONSES = """
local epoch = redis.call('INCR', KEYS[1])
redis.call('PUBLISH', ARGV[1], epoch .. ' ' .. table.concat(ARGV, ' ', 2))
for i = 2, #KEYS do
  local responses = redis.call('SMEMBERS', KEYS[i])
  for j = 1, #responses do redis.call('DEL', responses[j]) end
  redis.call('DEL', KEYS[i])
end
return #KEYS - 1
"""

# KEYS: epoch, response, tag_1, …; ARGV: epoch seen ('' for none), ttl ms, body. Stored only if no entity was
# invalidated since the lookup (the epoch is the same): a response computed before a write never outlives it.
_STORE_RESPONSE = """
if (redis.call('GET', KEYS[1]) or '') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[2])
for i = 3, #KEYS do
  redis.call('SADD', KEYS[i], KEYS[2])
  if redis.call('PTTL', KEYS[i]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[i], ARGV[2]) end
end
return 1
"""

# KEYS: epoch, response_1, …. Each response's value and remaining life in ms (-2: none), then the epoch ('' for none).
_LOOKUP_RESPONSE = """
local found = {}
for i = 2, #KEYS do
  found[#found + 1] = redis.call('GET', KEYS[i]) or false
  found[#found + 1] = redis.call('PTTL', KEYS[i])
end
found[#found + 1] = redis.call('GET', KEYS[1]) or ''
return found
"""

GENERATION_TTL_MS = 7 * 86_400 * 1000


@dataclass(frozen=True, slots=True)
class Looked:
    """One key's MGET answer: the cached bytes (None on a miss) and the generation seen with it; with MySQL
    replicas, whether it was invalidated within their sticky window (``recent``)."""

    value: bytes | None
    generation: bytes
    recent: bool = False


@dataclass(frozen=True, slots=True)
class Fill:
    kind: str
    id: Any
    value: bytes
    ttl_s: float
    generation: bytes


@dataclass(frozen=True, slots=True)
class CachedResponse:
    """A cached response as Redis holds it: the body, the entities it read ("kind:id") and its remaining life."""

    body: bytes
    tags: tuple[str, ...]
    ttl_s: float


def tag_name(kind: str, key: Any) -> str:
    return f"{kind}:{key}"


class EntityKeys:
    def __init__(self, namespace: str, version: str, channel: str | None = None, recent_ms: int = 0) -> None:
        self.namespace = namespace
        self.version = version
        # MySQL replicas' sticky window (ms), 0 without replicas: invalidations mark their entities that long.
        self.recent_ms = recent_ms
        self.family = "{" + namespace + "}"  # the response family's hash tag
        # Pub/sub is not per Redis database: the caller names the database in the channel (loaders/cached.py).
        self.channel = channel or f"{self.family}:invalidations"

    def data(self, kind: str, key: Any) -> str:
        return f"{self.namespace}:{self.version}:{{{kind}:{key}}}"

    def generation(self, kind: str, key: Any) -> str:
        return f"{self.namespace}:gen:{{{kind}:{key}}}"

    def recent(self, kind: str, key: Any) -> str:
        """Set for ``recent_ms`` by an invalidation (MySQL replicas only)."""
        return f"{self.namespace}:recent:{{{kind}:{key}}}"

    def tag(self, kind: str, key: Any) -> str:
        """The set of cached responses that hold this entity."""
        return f"{self.family}:tag:{kind}:{key}"

    @property
    def epoch(self) -> str:
        """Moves with every invalidation."""
        return f"{self.family}:epoch"

    def response(self, digest: str) -> str:
        return f"{self.family}:{self.version}:response.2:{digest}"


async def lookup(source: RedisSource, keys: EntityKeys, kind: str, ids: Sequence[Any]) -> list[Looked]:
    """The cached values and generations of ``ids`` (one MGET); with MySQL replicas, their recent marks too."""
    width = 3 if keys.recent_ms else 2
    names = [
        name
        for key in ids
        for name in (keys.data(kind, key), keys.generation(kind, key), keys.recent(kind, key))[:width]
    ]
    # In a cluster: one MGET per slot, each entity's value and generation in the same one (same hash tag).
    mget: Awaitable[list[bytes | None]] = (
        source.client.mget_nonatomic(names)  # type: ignore[union-attr,assignment]
        if source.cluster
        else source.client.mget(names)
    )
    found = await guarded(
        source,
        source.cache_timeout,
        mget,
        DRIVER_ERRORS,
        operation=f"mget {kind}",
        keys=ids,
        budget=True,
    )
    if width == 3:
        return [Looked(found[3 * i], found[3 * i + 1] or b"", found[3 * i + 2] is not None) for i in range(len(ids))]
    return [Looked(found[2 * i], found[2 * i + 1] or b"") for i in range(len(ids))]


async def fill(source: RedisSource, keys: EntityKeys, fills: Sequence[Fill]) -> int:
    """Store each value whose generation is still the one seen (one script); how many were stored."""
    if not fills:
        return 0
    pairs = [(keys.data(f.kind, f.id), keys.generation(f.kind, f.id)) for f in fills]
    calls: list[Call] = []
    for group in by_slot(source, [value for value, _ in pairs]):
        names = [name for i in group for name in pairs[i]]
        args: list[Any] = [
            part for i in group for part in (max(1, round(fills[i].ttl_s * 1000)), fills[i].generation, fills[i].value)
        ]
        calls.append((_FILL, names, args))
    shown = [f"{f.kind}:{f.id}" for f in fills]
    written: list[int] = await guarded(
        source,
        source.cache_timeout,
        eval_each(source, calls),
        DRIVER_ERRORS,
        operation="fill",
        keys=shown,
        budget=True,
    )
    return sum(int(n) for n in written)


async def invalidate(source: RedisSource, keys: EntityKeys, entities: Sequence[tuple[str, Any]]) -> None:
    """Drop these (kind, id) entries and bump their generations (one script)."""
    if not entities:
        return
    pairs = [(keys.data(kind, key), keys.generation(kind, key)) for kind, key in entities]
    drops: list[Call] = []
    for group in by_slot(source, [value for value, _ in pairs]):
        if keys.recent_ms:  # marked before the values go: a reader that misses one sees its mark
            marks = [keys.recent(*entities[i]) for i in group]
            drops.append((_MARK_RECENT, marks, [keys.recent_ms]))
        drops.append((_DROP_ENTITIES, [name for i in group for name in pairs[i]], [GENERATION_TTL_MS]))
    tags = [tag_name(kind, key) for kind, key in entities]
    responses = (_DROP_RESPONSES, [keys.epoch, *(keys.tag(kind, key) for kind, key in entities)], [keys.channel, *tags])

    async def run() -> None:
        if source.cluster:  # the entities first, then the responses (module docstring): two steps
            await eval_each(source, drops)
            await eval_each(source, [responses])
        else:  # one pipeline, run in order
            await eval_each(source, [*drops, responses])

    await guarded(
        source,
        source.timeout,
        run(),
        DRIVER_ERRORS,
        operation="invalidate",
        keys=[f"{kind}:{key}" for kind, key in entities],
    )


async def lookup_response(
    source: RedisSource, keys: EntityKeys, digests: Sequence[str]
) -> tuple[list[CachedResponse | None], bytes]:
    """The cached responses under these digests, and the epoch seen (one script)."""
    names = [keys.epoch, *(keys.response(digest) for digest in digests)]
    script = source.client.eval(_LOOKUP_RESPONSE, len(names), *names)
    found: list[Any] = await guarded(
        source,
        source.cache_timeout,
        script,
        DRIVER_ERRORS,
        operation="lookup response",
        keys=list(digests),
        budget=True,
    )
    responses = [_response(found[2 * i], found[2 * i + 1]) for i in range(len(digests))]
    return responses, found[-1] or b""


def _response(value: bytes | None, pttl: int) -> CachedResponse | None:
    if value is None or pttl == -2:
        return None
    tags, newline, body = value.partition(b"\n")
    if not newline:
        return None
    # No expiry (-1) does not happen: every response is stored with one. Taken as no time left, to be safe.
    return CachedResponse(body, tuple(tags.decode().split()), max(pttl, 0) / 1000)


def response_value(body: bytes, tags: Sequence[str]) -> bytes:
    """What Redis holds for a response: its tags (space-separated), a newline, the body."""
    return " ".join(tags).encode() + b"\n" + body


async def store_response(
    source: RedisSource,
    keys: EntityKeys,
    digest: str,
    body: bytes,
    *,
    ttl_s: float,
    epoch: bytes,
    tags: Sequence[tuple[str, Any]],
) -> bool:
    """Cache ``body`` under ``digest``, tagged with every entity in it, unless anything was invalidated since
    ``epoch`` was read (one script)."""
    names = [keys.epoch, keys.response(digest), *(keys.tag(kind, key) for kind, key in tags)]
    value = response_value(body, [tag_name(kind, key) for kind, key in tags])
    script = source.client.eval(_STORE_RESPONSE, len(names), *names, epoch, max(1, round(ttl_s * 1000)), value)
    stored: int = await guarded(
        source, source.cache_timeout, script, DRIVER_ERRORS, operation="store response", keys=[digest], budget=True
    )
    return bool(stored)


async def recently_invalidated(source: RedisSource, keys: EntityKeys, entities: Sequence[tuple[str, Any]]) -> bool:
    """With MySQL replicas: whether any of these entities was invalidated within their sticky window (one MGET of
    their marks; one per node in a cluster)."""
    if not keys.recent_ms or not entities:
        return False
    names = [keys.recent(kind, key) for kind, key in entities]
    mget: Awaitable[list[bytes | None]] = (
        source.client.mget_nonatomic(names)  # type: ignore[union-attr,assignment]
        if source.cluster
        else source.client.mget(names)
    )
    found = await guarded(
        source, source.cache_timeout, mget, DRIVER_ERRORS, operation="mget recent", keys=names, budget=True
    )
    return any(mark is not None for mark in found)


async def read_epoch(source: RedisSource, keys: EntityKeys) -> bytes:
    """The epoch as it is now ('' before the first invalidation)."""
    found: bytes | str | None = await guarded(
        source, source.timeout, source.client.get(keys.epoch), DRIVER_ERRORS, operation="epoch"
    )
    return found.encode() if isinstance(found, str) else found or b""
