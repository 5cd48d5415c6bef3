"""Which document a request runs: sent in full, by hash (Apollo's Automatic Persisted Queries) or by id (Relay).

Apollo's protocol: ``extensions: {"persistedQuery": {"version": 1, "sha256Hash": "<hex>"}}`` (over GET the
``extensions`` parameter is JSON text). A hash alone runs the document registered under it, from a manifest or
from Redis; the same hash with the ``query`` registers the query in Redis once its sha256 is checked. Relay's
convention: ``doc_id`` (body field or GET parameter) names a document of a manifest. Each refusal:

    outcome                                                       status  extensions.code
    hash only, or doc_id, that no manifest (and for a hash, no    200     PERSISTED_QUERY_NOT_FOUND,
      Redis entry) holds                                                  Cache-Control: no-cache
    ``persistedQuery`` not an object, ``sha256Hash`` not 64 hex   400     BAD_REQUEST
    ``query`` whose sha256 is not ``sha256Hash``                  400     BAD_REQUEST (nothing stored)
    ``persistedQuery.version`` other than 1                       400     PERSISTED_QUERY_NOT_SUPPORTED
    persisted-only: a document no manifest holds, sent in full    400     PERSISTED_QUERY_NOT_SUPPORTED
      or as an APQ registration
    hash only while Redis is unavailable                          503     SOURCE_UNAVAILABLE (source redis)

A registration stores only a document that parses, validates against the schema and passes the limits (size,
tokens, depth, aliases, cost: as this request runs it); any other is not stored and runs as sent, so the client
gets the usual parse, validation or limit error. Redis
failing while registering is logged and skipped: the query still runs. In persisted-only mode Redis is never
asked: only manifest documents run, whether named by hash, by doc_id, or sent in full (their sha256 is looked up).

APQ documents are kept in this process's memory too (``GATEWAY_MEMORY_CACHE``), the most recently used up to their
share of the memory budget: a document never changes under its hash, so a copy is never stale, and a hash found
there costs no Redis round trip. Its Redis TTL ("30 days after the last use") is reset by a use found in memory at
most once per ``refresh_s``, in the background.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError, parse, validate

from gateway.config import Settings
from gateway.errors import SourceError
from gateway.http.manifests import Manifests, is_sha256, sha256_hex
from gateway.http.request import GraphQLRequest
from gateway.memory.lru import ByteLRU
from gateway.stores.redis import persisted as redis_persisted
from gateway.stores.redis.client import RedisSource
from schema import schema
from schema.extensions.limits import lexical_errors, structural_errors

log = logging.getLogger("gateway.http.persisted")

NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
NOT_SUPPORTED = "PERSISTED_QUERY_NOT_SUPPORTED"
NO_CACHE = {"Cache-Control": "no-cache"}
# Where the document came from (explain's ``persistedDocument``).
MANIFEST, MEMORY, REDIS = "manifest", "memory", "redis"
# Measured with tracemalloc (bench/memory.py): the key string, the entry and the LRU's slot, beyond the document.
APQ_OVERHEAD = 400


@dataclass(slots=True)
class _Remembered:
    document: str
    touched: float  # time.monotonic() when Redis's TTL was last reset


class PersistedError(Exception):
    """A request answered without running anything: its status, ``extensions.code`` and headers."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: Mapping[str, str] | None = None,
        extensions: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})
        self.extensions = dict(extensions or {})


def _not_found() -> PersistedError:
    return PersistedError(200, NOT_FOUND, "PersistedQueryNotFound", NO_CACHE)


def _requested_hash(extensions: Mapping[str, Any] | None) -> str | None:
    """The APQ hash the request names (lowercased), None when it names none; a malformed one is refused."""
    if extensions is None or "persistedQuery" not in extensions:
        return None
    persisted = extensions["persistedQuery"]
    if not isinstance(persisted, dict):
        raise PersistedError(400, "BAD_REQUEST", "`extensions.persistedQuery` must be a JSON object")
    version = persisted.get("version")
    if version != 1 or isinstance(version, bool):
        raise PersistedError(
            400, NOT_SUPPORTED, f"persisted query version {version!r} is not supported: send version 1"
        )
    sha256 = persisted.get("sha256Hash")
    if not isinstance(sha256, str) or not is_sha256(sha256.lower()):
        raise PersistedError(400, "BAD_REQUEST", "`extensions.persistedQuery.sha256Hash` must be 64 hex digits")
    return sha256.lower()


class PersistedQueries:
    """The request's document, per the module docstring. One per app: the manifests are loaded once, at start."""

    def __init__(self, settings: Settings, manifests: Manifests, memory_bytes: int = 0) -> None:
        self.settings = settings
        self.manifests = manifests
        # APQ documents in memory (none when ``memory_bytes`` is 0), and how often a use found there resets the
        # document's TTL in Redis.
        self.memory: ByteLRU[str, _Remembered] | None = ByteLRU(memory_bytes) if memory_bytes > 0 else None
        self.refresh_s = min(3600.0, settings.persisted_query_ttl_s / 30)
        self._touching: set[asyncio.Task[None]] = set()

    def sha256_of(self, request: GraphQLRequest) -> str | None:
        """The sha256 of the document a request names by hash or doc_id (None for a full query without a hash)."""
        if request.doc_id is not None:
            operation = self.manifests.by_id.get(request.doc_id)
            return operation.sha256 if operation is not None else None
        return _requested_hash(request.extensions)

    def remembered(self, request: GraphQLRequest, redis: RedisSource) -> tuple[str, str, str] | None:
        """The document a hash-only request or a doc_id names, its sha256 and where it was found, when that needs
        no round trip (a manifest, or memory); None otherwise (``document`` then decides). Raises
        ``PersistedError``."""
        if request.doc_id is not None:
            operation = self.manifests.by_id.get(request.doc_id)
            if operation is None:
                raise _not_found()
            return operation.document, operation.sha256, MANIFEST
        if request.query is not None:
            return None
        sha256 = _requested_hash(request.extensions)
        assert sha256 is not None  # request.py lets a request without `query` through only with one
        operation = self.manifests.by_sha256.get(sha256)
        if operation is not None:
            return operation.document, sha256, MANIFEST
        if self.memory is None or self.settings.persisted_only:
            return None
        found = self.memory.get(sha256)
        if found is None:
            return None
        now = time.monotonic()
        if now - found.touched > self.refresh_s:
            found.touched = now
            self._touch(sha256, redis)
        return found.document, sha256, MEMORY

    async def document(self, request: GraphQLRequest, redis: RedisSource) -> str:
        """The document to run, stored first when the request registers it; raises ``PersistedError``."""
        if request.doc_id is not None:
            operation = self.manifests.by_id.get(request.doc_id)
            if operation is None:
                raise _not_found()
            return operation.document
        sha256 = _requested_hash(request.extensions)
        query = request.query
        if query is None:
            assert sha256 is not None  # request.py lets a request without `query` through only with one
            return await self._by_hash(sha256, redis)
        if sha256 is not None and sha256_hex(query) != sha256:
            raise PersistedError(400, "BAD_REQUEST", "provided sha does not match query")
        in_manifest = sha256_hex(query) in self.manifests.by_sha256
        if self.settings.persisted_only and not in_manifest:
            raise PersistedError(
                400,
                NOT_SUPPORTED,
                "only persisted operations are accepted here: this document is in no persisted-operation manifest",
            )
        if sha256 is not None and not in_manifest and _storable(query, request, self.settings):
            await self._register(sha256, query, redis)
        return query

    async def stored(self, redis: RedisSource, *, limit: int) -> list[str]:
        """Up to ``limit`` APQ documents Redis holds (none when it cannot be reached): what a starting gateway
        prepares ahead."""
        try:
            return await redis_persisted.stored(redis, limit=limit)
        except SourceError as exc:
            log.info("persisted documents not prepared ahead: %s", exc.detail)
            return []

    async def _by_hash(self, sha256: str, redis: RedisSource) -> str:
        operation = self.manifests.by_sha256.get(sha256)
        if operation is not None:
            return operation.document
        if self.settings.persisted_only:
            raise _not_found()
        try:
            document = await redis_persisted.get(redis, sha256=sha256, ttl_s=self.settings.persisted_query_ttl_s)
        except SourceError as exc:
            log.warning("persisted query %s: %s (%s)", sha256, exc, exc.detail)
            raise PersistedError(
                503,
                exc.code,
                "persisted queries are unavailable (redis): retry, or send the query in full",
                NO_CACHE,
                {"source": exc.source},
            ) from exc
        if document is None:
            raise _not_found()
        self._remember(sha256, document)
        return document

    async def _register(self, sha256: str, query: str, redis: RedisSource) -> None:
        ttl_s = self.settings.persisted_query_ttl_s
        try:
            if not await redis_persisted.put(redis, sha256=sha256, document=query, ttl_s=ttl_s):
                await redis_persisted.touch(redis, sha256=sha256, ttl_s=ttl_s)  # registered before: keep it longer
        except SourceError as exc:
            log.warning("persisted query %s not registered: %s (%s)", sha256, exc, exc.detail)
            return
        self._remember(sha256, query)

    def _remember(self, sha256: str, document: str) -> None:
        """Keep a document Redis holds (its TTL just reset) in memory."""
        if self.memory is not None:
            self.memory.put(sha256, _Remembered(document, time.monotonic()), sys.getsizeof(document) + APQ_OVERHEAD)

    def _touch(self, sha256: str, redis: RedisSource) -> None:
        """Reset the document's TTL in Redis, in the background (a use found in memory); a failure is logged."""

        async def touch() -> None:
            ttl_s = self.settings.persisted_query_ttl_s
            try:
                if not await redis_persisted.touch(redis, sha256=sha256, ttl_s=ttl_s) and self.memory is not None:
                    found = self.memory.get(sha256)  # gone from Redis (flushed): put back what memory holds
                    if found is not None:
                        await redis_persisted.put(redis, sha256=sha256, document=found.document, ttl_s=ttl_s)
            except SourceError as exc:
                log.info("persisted query %s: TTL not reset: %s (%s)", sha256, exc, exc.detail)

        task = asyncio.get_running_loop().create_task(touch())
        self._touching.add(task)
        task.add_done_callback(self._touching.discard)


def _storable(query: str, request: GraphQLRequest, settings: Settings) -> bool:
    """The document passes the limits (as this request runs it), parses and validates: garbage is never stored."""
    if lexical_errors(query, settings):
        return False
    try:
        document = parse(query)
    except GraphQLError:
        return False
    variables = request.variables or {}
    if structural_errors(schema._schema, document, request.operation_name, variables, settings):
        return False
    return not validate(schema._schema, document)
