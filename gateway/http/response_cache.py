"""The response cache: the whole result of a persisted query, per (operation hash, operation name, variables,
viewer scope), in this process's memory (gateway/memory/responses.py) in front of Redis
(gateway/stores/redis/cache.py).

- Only persisted operations (an APQ hash, a manifest id) that are queries; never a mutation.
- TTL: the shortest cache hint of the document's fields (schema/cache_hints.py) within ``response_cache_ttl_s``;
  a hint of 0 keeps the operation out.
- Scope: a result that read no private field (``Context.private`` stays False) is public, shared by every viewer;
  one that did is stored under the viewer's own id and only ever served to that viewer. A lookup asks for both
  keys: public first, then the viewer's.
- Never a result with errors. A stored result is tagged with every entity the request read (``Loaders.touched``)
  and is dropped when any of them is invalidated; one computed while an invalidation happened is not stored, nor
  (with MySQL replicas) one holding an entity invalidated within ``GATEWAY_MYSQL_REPLICA_STICKY_S`` (a replica
  may not have applied that change yet: docs/scaling.md).
- Memory first: a hit there (``hit-local``) needs no Redis round trip, no parse, nothing but the request's key.
  Memory holds only what Redis holds (what Redis stored, or answered), with the same tags and no longer than its
  TTL there, and serves it only while invalidations reach it within the staleness bound
  (gateway/memory/invalidations.py); otherwise the lookup goes to Redis.
- Redis down or slow: bypassed, like the entity cache.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from graphql import OperationType

from engine.documents import Documents
from gateway.config import Settings
from gateway.errors import SourceError
from gateway.http.request import GraphQLRequest
from gateway.memory.responses import Entry, Key, LocalResponses
from gateway.stores import Sources
from gateway.stores.redis import cache as redis_cache
from loaders.cached import keys_for
from schema import schema
from schema.cache_hints import max_age
from schema.extensions.limits import measured

log = logging.getLogger("gateway.cache")

HIT_LOCAL = "hit-local"


@dataclass(slots=True)
class Plan:
    identity: bytes  # [document sha256, operation name, variables] as sorted JSON
    viewer: int  # the viewer's user id; 0 for a guest (whose result is public or not cached)
    ttl_s: float = 0.0  # set once the lookups missed (it needs the parsed document)
    epoch: bytes | None = None  # seen by the Redis lookup; None when it was bypassed (then nothing is stored)
    outcome: str = field(default="miss")
    seen: int = 0  # the memory's generation when the lookup began
    held: Entry | None = None  # what the caches hold for this answer now: HTTP caching offers exactly that
    cost: int = 0  # the query's cost, worked out once the lookups in memory missed (what a rate limit charges)
    _digest: str | None = None

    @property
    def digest(self) -> str:
        if self._digest is None:
            self._digest = hashlib.sha256(self.identity).hexdigest()
        return self._digest

    @property
    def public(self) -> str:
        return f"{self.digest}:public"

    @property
    def private(self) -> str | None:
        return None if self.viewer == 0 else f"{self.digest}:user:{self.viewer}"

    def memory_keys(self) -> tuple[Key, ...]:
        public: Key = (self.identity, 0)
        return (public,) if self.viewer == 0 else (public, (self.identity, self.viewer))


def _persisted(request: GraphQLRequest) -> bool:
    return request.doc_id is not None or bool(request.extensions and "persistedQuery" in request.extensions)


class ResponseCache:
    def __init__(self, settings: Settings, documents: Documents, memory: LocalResponses | None = None) -> None:
        self.settings = settings
        self.documents = documents
        self.memory = memory
        self.keys = keys_for(settings)

    def plan(self, request: GraphQLRequest, sha256: str | None, viewer: int) -> Plan | None:
        """The request's keys, when it may be answered from the cache (a persisted operation); None otherwise."""
        if not self.settings.response_cache or sha256 is None or not _persisted(request):
            return None
        identity = orjson.dumps([sha256, request.operation_name, request.variables or {}], option=orjson.OPT_SORT_KEYS)
        plan = Plan(identity, viewer)
        if self.memory is not None:
            plan.seen = self.memory.generation
        return plan

    def local(self, plan: Plan, now: float) -> Entry | None:
        """The answer held in memory (public first, then the viewer's), when memory may serve."""
        memory = self.memory
        if memory is None:
            return None
        for key in plan.memory_keys():
            entry = memory.get(key, now)
            if entry is not None:
                plan.outcome, plan.held = HIT_LOCAL, entry
                return entry
        return None

    def cacheable(
        self, plan: Plan, document: str, operation_name: str | None, variables: Mapping[str, Any] | None = None
    ) -> bool:
        """Whether the operation may be stored at all (a query whose hints allow a TTL); sets ``plan.ttl_s`` and
        ``plan.cost``."""
        plan.ttl_s = _max_age(self.documents, document, operation_name, self.settings.response_cache_ttl_s)
        if plan.ttl_s > 0:
            plan.cost = _cost(self.documents, document, operation_name, variables or {}, self.settings)
        return plan.ttl_s > 0

    async def lookup(self, plan: Plan, sources: Sources) -> Entry | None:
        digests = [plan.public] if plan.private is None else [plan.public, plan.private]
        try:
            found, plan.epoch = await redis_cache.lookup_response(sources.redis, self.keys, digests)
        except SourceError as exc:
            log.warning("response cache bypassed: %s", exc.detail)
            plan.outcome = "bypassed"
            return None
        for key, cached in zip(plan.memory_keys(), found, strict=True):
            if cached is not None:
                plan.outcome = "hit"
                plan.held = self._keep(plan, key, cached.body, cached.tags, cached.ttl_s)
                return plan.held
        plan.outcome = "miss"
        return None

    async def store(
        self, plan: Plan, sources: Sources, data: Any, *, private: bool, tags: Collection[tuple[str, int]]
    ) -> None:
        if plan.epoch is None:
            return
        digest = plan.private if private else plan.public
        if digest is None:  # private data read by a guest: not cacheable (permissions make this an error anyway)
            return
        body = orjson.dumps({"data": data})
        ordered = sorted(tags)
        try:
            # With MySQL replicas: an answer holding an entity invalidated within the sticky window may have been
            # read from a replica that has not applied the change yet: answered, not stored.
            if await redis_cache.recently_invalidated(sources.redis, self.keys, ordered):
                plan.outcome = "not stored (an entity changed within the replicas' window)"
                return
            stored = await redis_cache.store_response(
                sources.redis, self.keys, digest, body, ttl_s=plan.ttl_s, epoch=plan.epoch, tags=ordered
            )
        except SourceError as exc:
            log.warning("response not cached: %s", exc.detail)
            return
        plan.outcome = "stored" if stored else "not stored (an entity changed meanwhile)"
        if stored:
            key: Key = (plan.identity, plan.viewer if private else 0)
            names = [redis_cache.tag_name(kind, entity) for kind, entity in ordered]
            plan.held = self._keep(plan, key, body, names, plan.ttl_s)

    def _keep(self, plan: Plan, key: Key, body: bytes, tags: Collection[str], ttl_s: float) -> Entry:
        """What Redis holds, put in memory when memory may keep it (no invalidation applied since the lookup)."""
        private = key[1] != 0
        now = time.monotonic()
        if self.memory is not None:
            kept = self.memory.put(
                key, body, tags, ttl_s=ttl_s, private=private, seen=plan.seen, now=now, cost=plan.cost
            )
            if kept is not None:
                return kept
        etag = hashlib.blake2b(body, digest_size=12).hexdigest()
        return Entry(body, etag, now + ttl_s, tuple(tags), private, plan.cost)


def _max_age(documents: Documents, text: str, name: str | None, default: float) -> float:
    """The TTL a query may be cached for; 0 for anything else (a mutation, a bad document). Computed once per
    document and operation, kept with the prepared document."""
    document = documents.get(text)
    if document.node is None or document.invalid:
        return 0.0
    found = document.max_ages.get((name, default))
    if found is None:
        operation = document.operation(name)
        if operation is None or operation.operation is not OperationType.QUERY:
            found = 0.0
        else:
            found = max_age(schema._schema, document.node, default)
        document.max_ages[(name, default)] = found
    return found


def _cost(documents: Documents, text: str, name: str | None, variables: Mapping[str, Any], settings: Settings) -> int:
    """The query's cost with these variables (what the engine would work out running it)."""
    document = documents.get(text)
    if document.node is None:
        return 0
    return measured(schema._schema, document.node, name, variables, settings)[1]
