"""The response cache: the whole result of a persisted query, per (operation hash, operation name, variables,
viewer scope), in Redis (gateway/stores/redis/cache.py).

- Only persisted operations (an APQ hash, a manifest id) that are queries; never a mutation.
- TTL: the shortest cache hint of the document's fields (schema/cache_hints.py) within ``response_cache_ttl_s``;
  a hint of 0 keeps the operation out.
- Scope: a result that read no private field (``Context.private`` stays False) is public, shared by every viewer;
  one that did is stored under the viewer's own id and only ever served to that viewer. A lookup asks for both
  keys in one MGET: public first, then the viewer's.
- Never a result with errors. A stored result is tagged with every entity the request read (``Loaders.touched``)
  and is dropped when any of them is invalidated; one computed while an invalidation happened is not stored.
- Redis down or slow: bypassed, like the entity cache.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import orjson
from graphql import DocumentNode, GraphQLError, OperationType, get_operation_ast, parse

from gateway.auth import Viewer
from gateway.config import Settings
from gateway.errors import SourceError
from gateway.http.request import GraphQLRequest
from gateway.stores import Sources
from gateway.stores.redis import cache as redis_cache
from loaders.cached import keys_for
from schema import schema
from schema.cache_hints import max_age

log = logging.getLogger("gateway.cache")


@dataclass(slots=True)
class Plan:
    public: str
    private: str | None  # None for a guest: a guest's result is public or not cached
    ttl_s: float
    epoch: bytes | None = None  # seen by the lookup; None when it was bypassed (then nothing is stored)
    outcome: str = field(default="miss")


@lru_cache(maxsize=1024)
def _parsed(document: str) -> DocumentNode | None:
    try:
        return parse(document)
    except GraphQLError:
        return None


@lru_cache(maxsize=1024)
def _query_max_age(document: str, operation_name: str | None, default: float) -> float:
    """The TTL a query may be cached for; 0 for anything else (a mutation, a bad document)."""
    parsed = _parsed(document)
    if parsed is None:
        return 0.0
    operation = get_operation_ast(parsed, operation_name)
    if operation is None or operation.operation is not OperationType.QUERY:
        return 0.0
    return max_age(schema._schema, parsed, default)


def _persisted(request: GraphQLRequest) -> bool:
    return request.doc_id is not None or bool(request.extensions and "persistedQuery" in request.extensions)


class ResponseCache:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.keys = keys_for(settings)

    def plan(self, request: GraphQLRequest, document: str, viewer: Viewer | None) -> Plan | None:
        if not self.settings.response_cache or not _persisted(request):
            return None
        ttl_s = _query_max_age(document, request.operation_name, self.settings.response_cache_ttl_s)
        if ttl_s <= 0:
            return None
        identity = orjson.dumps(
            [hashlib.sha256(document.encode()).hexdigest(), request.operation_name, request.variables or {}],
            option=orjson.OPT_SORT_KEYS,
        )
        digest = hashlib.sha256(identity).hexdigest()
        private = None if viewer is None else f"{digest}:user:{viewer.user_id}"
        return Plan(public=f"{digest}:public", private=private, ttl_s=ttl_s)

    async def lookup(self, plan: Plan, sources: Sources) -> bytes | None:
        digests = [plan.public] if plan.private is None else [plan.public, plan.private]
        try:
            found, plan.epoch = await redis_cache.lookup_response(sources.redis, self.keys, digests)
        except SourceError as exc:
            log.warning("response cache bypassed: %s", exc.detail)
            plan.outcome = "bypassed"
            return None
        hit = next((body for body in found if body is not None), None)
        plan.outcome = "hit" if hit is not None else "miss"
        return hit

    async def store(
        self, plan: Plan, sources: Sources, data: Any, *, private: bool, tags: Collection[tuple[str, int]]
    ) -> None:
        if plan.epoch is None:
            return
        digest = plan.private if private else plan.public
        if digest is None:  # private data read by a guest: not cacheable (permissions make this an error anyway)
            return
        body = orjson.dumps({"data": data})
        try:
            stored = await redis_cache.store_response(
                sources.redis, self.keys, digest, body, ttl_s=plan.ttl_s, epoch=plan.epoch, tags=sorted(tags)
            )
        except SourceError as exc:
            log.warning("response not cached: %s", exc.detail)
            return
        plan.outcome = "stored" if stored else "not stored (an entity changed meanwhile)"
