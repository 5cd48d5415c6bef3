"""GraphQL over HTTP: GET and POST /graphql, answered as the GraphQL-over-HTTP spec and docs/ARCHITECTURE.md say.

Each outcome and its status (the body is JSON in the media type picked from Accept, always charset=utf-8):

    the request itself is malformed (bad JSON, no query, …)      400   BAD_REQUEST, either type
    POST body over ``max_body_bytes``                          413   BAD_REQUEST
    POST not sent as application/json                          415   BAD_REQUEST
    mutation over GET                                          405   BAD_REQUEST, ``Allow: POST``
    subscription over HTTP (they go over the WebSocket)        400   BAD_REQUEST
    document never executed (parse, validation, variables)     400 as application/graphql-response+json,
                                                               200 as application/json; no ``data`` entry
    executed: data, maybe null in places with field errors     200

Persisted queries (APQ hashes, Relay doc_ids, manifests, persisted-only mode) add their own outcomes, listed in
``gateway.http.persisted``; the document is resolved once the context is built, inside the request's trace, so
``extensions.explain`` shows the Redis round trip of a hash lookup.

Queries run as compiled plans (engine/), anything else on strawberry's resolvers; both inside
``tracing(context.trace)``, so every store call of the request (loader batches included) is recorded;
``extensions.explain`` reports them when the request's ``extensions`` say
``"explain": true`` or it carries ``X-Gateway-Explain: 1``.

The hot path (docs/hot-path.md): a persisted query whose document and answer this process holds in memory is
answered with neither a Redis round trip nor a parse (``X-Gateway-Cache: hit-local``); a guest's request decodes
no token. Only what the response cache holds is offered to HTTP caches, over GET (``http_caching``): a public
answer with ``Cache-Control: public, max-age`` (its remaining life in the cache) and an ``ETag``, a viewer's own
with ``private, no-cache`` and an ``ETag`` (revalidated at every use); ``If-None-Match`` naming the current ETag is
answered 304. Any other answer to a GET query is ``no-store``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import orjson
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from strawberry.exceptions import MissingQueryError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from engine.executor import Engine
from gateway.auth import TokenError, Viewer, session_from, viewer_from
from gateway.config import Settings, memory_shares
from gateway.context import Context
from gateway.http.analytics import observe
from gateway.http.context import build_context, request_id_of
from gateway.http.graphiql import page_html
from gateway.http.manifests import Manifests
from gateway.http.media import GRAPHQL_RESPONSE, accepts_html, negotiate
from gateway.http.persisted import REDIS, PersistedError, PersistedQueries
from gateway.http.rate_limits import CODE as RATE_LIMITED
from gateway.http.rate_limits import Bucket, RateLimiter
from gateway.http.request import GraphQLRequest, RequestError, from_post, from_query_params
from gateway.http.response_cache import Plan, ResponseCache
from gateway.memory.invalidations import Invalidations
from gateway.memory.responses import Entry, LocalResponses
from gateway.observability import request as observed
from gateway.observability.metrics import MemoryCache
from gateway.stores import Sources
from gateway.trace import Trace, tracing
from loaders.cached import keys_for

log = logging.getLogger("gateway.http")

EXPLAIN_HEADER = "x-gateway-explain"
CACHE_HEADER = "X-Gateway-Cache"  # hit-local, hit, miss, stored, bypassed, not: the response cache's outcome
BEARER_CHALLENGE = 'Bearer realm="gateway"'

_OVER_GET = frozenset({OperationType.QUERY})
_OVER_POST = frozenset({OperationType.QUERY, OperationType.MUTATION})
_NOT_COPIED = frozenset({b"content-length", b"content-type"})
_NAMES_A_DOCUMENT = ("query", "extensions", "doc_id")  # a GET with none of these, from a browser: GraphiQL


class GraphQLHTTP:
    """Mount ``endpoint`` for GET and POST: ``Route("/graphql", GraphQLHTTP(settings).endpoint, ...)``."""

    def __init__(self, settings: Settings, manifests: Manifests | None = None) -> None:
        self.settings = settings
        shares = memory_shares(settings)
        in_memory = settings.memory_cache
        self.persisted = PersistedQueries(settings, manifests or Manifests(), shares.persisted if in_memory else 0)
        self.engine = Engine(settings)
        keys = keys_for(settings)
        # Responses in memory, and the invalidations they follow (``follow_invalidations``, started with the app).
        self.memory: LocalResponses | None = None
        self.invalidations: Invalidations | None = None
        if in_memory and settings.response_cache:
            self.memory = LocalResponses(shares.responses, keys.channel)
            self.invalidations = Invalidations(self.memory, keys, bound_s=settings.memory_cache_stale_s)
        self.responses = ResponseCache(settings, self.engine.documents, self.memory)
        self.limiter = RateLimiter(settings)
        self.engine.warm([operation.document for operation in self.persisted.manifests.operations()])
        self._page = page_html() if settings.graphiql else None

    def memory_stats(self) -> dict[str, MemoryCache]:
        """The in-process caches' sizes, for /metrics."""
        stats = {"documents": self.engine.documents.stats()}
        if self.memory is not None:
            responses = self.memory.lru
            stats["responses"] = MemoryCache(responses.bytes, len(responses), responses.capacity)
        if self.persisted.memory is not None:
            persisted = self.persisted.memory
            stats["persisted"] = MemoryCache(persisted.bytes, len(persisted), persisted.capacity)
        return stats

    def memory_fresh(self) -> bool | None:
        """Whether memory may serve responses now; None when it holds none."""
        return None if self.memory is None else self.memory.usable(time.monotonic())

    async def follow_invalidations(self, sources: Sources) -> None:
        """Keep the memory's responses in step with every process's invalidations, until cancelled (the app's
        lifespan runs it)."""
        if self.invalidations is not None:
            await self.invalidations.run(sources)

    async def charge_rate_limits(self, sources: Sources) -> None:
        """Send the rate limits' charges to Redis, until cancelled (the app's lifespan runs it)."""
        await self.limiter.run(sources)

    async def prepare_persisted(self, sources: Sources) -> int:
        """Prepare and plan the APQ documents Redis holds (at most the plan cache's size), one at a time between
        requests: started with the process, so that clients' persisted queries find their plans ready."""
        prepared = 0
        for document in await self.persisted.stored(sources.redis, limit=self.settings.plan_cache_size):
            prepared += self.engine.warm([document])
            await asyncio.sleep(0)
        return prepared

    async def endpoint(self, request: Request) -> Response:
        media_type = negotiate(request.headers.get("accept"))
        try:
            if request.method == "POST":
                parsed = await from_post(request, max_body_bytes=self.settings.max_body_bytes)
            elif (
                self._page
                and not any(name in request.query_params for name in _NAMES_A_DOCUMENT)
                and accepts_html(request.headers.get("accept"))
            ):
                return HTMLResponse(self._page, headers={"Vary": "Accept"})
            else:
                parsed = from_query_params(request.query_params)
            return await self._execute(request, parsed, media_type)
        except RequestError as exc:
            return _respond({"errors": [_error(exc.message, "BAD_REQUEST")]}, exc.status, media_type, exc.headers)

    async def _execute(self, request: Request, parsed: GraphQLRequest, media_type: str) -> Response:
        """Who asks, then the document, then the answer held in memory, in Redis, or a run, then the response.
        The context (loaders, session) is built only when the operation runs."""
        try:
            viewer = viewer_from(self.settings, request.headers.get("authorization"))
        except TokenError as exc:
            headers = {"WWW-Authenticate": f'{BEARER_CHALLENGE}, error="invalid_token"'}
            return _respond({"errors": [_error(str(exc), "UNAUTHENTICATED")]}, 401, media_type, headers)
        request_id, trace = request_id_of(request), Trace()
        observed.bind(request_id, trace, parsed.operation_name)  # logs, metrics and spans
        buckets = self._buckets(request, viewer)
        if buckets and (limited := self.limiter.refused(buckets, time.monotonic())) is not None:
            return _rate_limited(*limited, request_id, media_type)
        sources: Sources = request.state.sources
        observe(sources, request, self.settings, viewer)  # the session's activity, views: never fails, never waits
        sha256: str | None
        with tracing(trace):
            try:
                remembered = self.persisted.remembered(parsed, sources.redis)
                if remembered is not None:
                    document, sha256, trace.persisted = remembered
                else:
                    document = await self.persisted.document(parsed, sources.redis)
                    sha256 = self.persisted.sha256_of(parsed)
                    if parsed.query is None:
                        trace.persisted = REDIS
            except PersistedError as exc:
                self.limiter.charge(buckets, 1)
                refused = {"message": exc.message, "extensions": {"code": exc.code, **exc.extensions}}
                headers = {"X-Request-Id": request_id, **exc.headers}
                return _respond({"errors": [refused]}, exc.status, media_type, headers)
            plan = self.responses.plan(parsed, sha256, viewer.user_id if viewer is not None else 0)
            if plan is not None:
                hit = self.responses.local(plan, time.monotonic())
                if hit is None:
                    if self.responses.cacheable(plan, document, parsed.operation_name, parsed.variables):
                        hit = await self.responses.lookup(plan, sources)
                    else:
                        plan = None
                if plan is not None:
                    trace.response_cache = plan.outcome
                    if hit is not None:
                        self.limiter.charge(buckets, hit.cost)
                        return self._cached(request, parsed, request_id, trace, viewer, plan, hit, media_type)
            side = Response()  # resolvers may set headers (cookies…) on ``context.response``: copied onto the answer
            context = build_context(request, self.settings, sources, side, identified=(viewer, request_id, trace))
            try:
                result = await self._run(document, parsed, context, over_get=request.method != "POST")
            except TimeoutError:
                self.limiter.charge(buckets, context.cost)
                log.warning("request %s timed out after %ss", context.request_id, self.settings.request_timeout_s)
                message = f"the request did not finish within {self.settings.request_timeout_s:g}s"
                timed_out = {"errors": [_error(message, "TIMEOUT")]}
                return _respond(timed_out, 504, media_type, {"X-Request-Id": context.request_id})
            except RequestError:
                self.limiter.charge(buckets, 1)
                raise
            self.limiter.charge(buckets, context.cost)
            if plan is not None and not result.errors and result.data is not None and not context.uncacheable:
                tags = context.loaders.touched
                await self.responses.store(plan, context.sources, result.data, private=context.private, tags=tags)
                context.trace.response_cache = plan.outcome
        response = self._render(request, parsed, context, result, media_type, plan)
        response.raw_headers.extend(header for header in side.raw_headers if header[0] not in _NOT_COPIED)
        return response

    def _buckets(self, request: Request, viewer: Viewer | None) -> tuple[Bucket, ...]:
        """The rate-limit buckets this request is charged to: the viewer's, or the guest's session and address."""
        if viewer is not None or not self.limiter.enabled:
            return self.limiter.buckets(viewer, None, None)
        header = request.headers.get("x-session-id")
        cookie = None if header is not None else request.cookies.get(self.settings.session_cookie)
        session = session_from(header, cookie)
        return self.limiter.buckets(None, session, request.client.host if request.client else None)

    async def _run(self, document: str, parsed: GraphQLRequest, context: Context, *, over_get: bool) -> ExecutionResult:
        """The operation's result (the plan executor's, or strawberry's), within the request timeout."""
        try:
            return await asyncio.wait_for(
                self.engine.execute(
                    document,
                    variables=parsed.variables,
                    operation_name=parsed.operation_name,
                    context=context,
                    allowed=_OVER_GET if over_get else _OVER_POST,
                    extensions=parsed.extensions,
                ),
                self.settings.request_timeout_s,
            )
        except InvalidOperationTypeError as exc:
            raise _not_allowed(exc.operation_type, over_get=over_get) from exc
        except CannotGetOperationTypeError as exc:
            # No operation to run (an unknown operationName, or only fragments): a document never executed.
            error = GraphQLError(exc.as_http_error_reason(), extensions={"code": "GRAPHQL_VALIDATION_FAILED"})
            return ExecutionResult(data=None, errors=[error])
        except MissingQueryError as exc:  # unreachable after the request checks; a request error all the same
            raise RequestError(400, "no GraphQL query: send the document as `query`") from exc

    def _render(
        self,
        request: Request,
        parsed: GraphQLRequest,
        context: Context,
        result: ExecutionResult,
        media_type: str,
        plan: Plan | None,
    ) -> Response:
        """The body (data, errors, extensions), its status and headers, as the table at the top says."""
        errors = result.errors or []
        never_executed = result.data is None and bool(errors) and all(error.path is None for error in errors)
        body: dict[str, Any] = {} if never_executed else {"data": result.data}
        if errors:
            body["errors"] = [error.formatted for error in errors]
        extensions = dict(result.extensions or {})
        allowed = self.settings.explain or (context.viewer is not None and context.viewer.is_admin)
        if allowed and _wants_explain(request, parsed):
            extensions["explain"] = context.trace.explain()
        if extensions:
            body["extensions"] = extensions
        status = 400 if never_executed and media_type == GRAPHQL_RESPONSE else 200
        headers = {"X-Request-Id": context.request_id}
        if plan is not None:
            headers[CACHE_HEADER] = plan.outcome.split(" ")[0]
        if any((error.extensions or {}).get("code") == "UNAUTHENTICATED" for error in errors):
            status = 401  # a field needs a signed-in viewer and the request has none (docs/ARCHITECTURE.md's table)
            headers["WWW-Authenticate"] = BEARER_CHALLENGE
        if request.method == "GET":
            held = plan.held if plan is not None and plan.outcome == "stored" and status == 200 else None
            caching, _ = http_caching(request, media_type, held, time.monotonic())
            headers.update(caching)
        return _respond(body, status, media_type, headers)

    def _cached(
        self,
        request: Request,
        parsed: GraphQLRequest,
        request_id: str,
        trace: Trace,
        viewer: Viewer | None,
        plan: Plan,
        hit: Entry,
        media_type: str,
    ) -> Response:
        """A response-cache hit: the stored body as it is, or with this request's explain when asked; over GET
        with HTTP caching's headers, and 304 when the client holds it already."""
        observed.note_operation(parsed.operation_name, "query")  # only queries are cached
        headers = {"X-Request-Id": request_id, CACHE_HEADER: plan.outcome, "Vary": "Accept"}
        if request.method == "GET":
            caching, unchanged = http_caching(request, media_type, hit, time.monotonic())
            headers.update(caching)
            if unchanged:
                return Response(status_code=304, headers=headers)
        allowed = self.settings.explain or (viewer is not None and viewer.is_admin)
        if allowed and _wants_explain(request, parsed):
            body = orjson.loads(hit.body)
            body["extensions"] = {"explain": trace.explain()}
            return _respond(body, 200, media_type, headers)
        return Response(hit.body, 200, media_type=f"{media_type}; charset=utf-8", headers=headers)


def http_caching(request: Request, media_type: str, held: Entry | None, now: float) -> tuple[dict[str, str], bool]:
    """The HTTP caching headers of a GET's answer, and whether its ``If-None-Match`` names the current ETag.

    Only what the response cache holds is offered, for no longer than it holds it: public, ``max-age`` its
    remaining life (CDNs and browsers may keep it that long: the bound on their staleness); a viewer's own,
    ``private, no-cache`` (a browser keeps it but asks every time, so a viewer reads their own writes). Any other
    answer (errors, not cacheable, computed while an entity changed) is ``no-store``."""
    if held is None:
        return {"Cache-Control": "no-store"}, False
    etag = f'"{held.etag}.{"g" if media_type == GRAPHQL_RESPONSE else "j"}"'
    if held.private:
        headers = {"Cache-Control": "private, no-cache", "ETag": etag, "Vary": "Accept, Authorization"}
    else:
        headers = {"Cache-Control": f"public, max-age={max(int(held.expires - now), 0)}", "ETag": etag}
    return headers, _matches(request.headers.get("if-none-match"), etag)


def _matches(if_none_match: str | None, etag: str) -> bool:
    """``If-None-Match`` names ``etag`` (weak comparison, RFC 9110 §13.1.2), or is ``*``."""
    if not if_none_match:
        return False
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == etag:
            return True
    return False


def _wants_explain(request: Request, parsed: GraphQLRequest) -> bool:
    by_extension = parsed.extensions is not None and parsed.extensions.get("explain") is True
    return by_extension or request.headers.get(EXPLAIN_HEADER, "").strip() == "1"


def _not_allowed(operation_type: OperationType, *, over_get: bool) -> RequestError:
    if operation_type is OperationType.MUTATION and over_get:
        return RequestError(405, "mutations are not allowed over GET: send them with POST", {"Allow": "POST"})
    return RequestError(400, "subscriptions are served over WebSocket at /graphql (graphql-transport-ws), not HTTP")


def _rate_limited(retry_after: int, role: str, request_id: str, media_type: str) -> Response:
    """429: the client's bucket is in debt; nothing ran, nothing is charged."""
    message = f"rate limit exceeded ({role}): retry in {retry_after} s"
    error = {"message": message, "extensions": {"code": RATE_LIMITED, "retryAfter": retry_after, "limit": role}}
    headers = {"Retry-After": str(retry_after), "X-Request-Id": request_id}
    return _respond({"errors": [error]}, 429, media_type, headers)


def _error(message: str, code: str) -> dict[str, Any]:
    return {"message": message, "extensions": {"code": code}}


def _respond(body: dict[str, Any], status: int, media_type: str, headers: dict[str, str] | None = None) -> Response:
    observed.note_body(body)  # the request's outcome, for gateway_requests_total
    return Response(
        orjson.dumps(body),
        status_code=status,
        media_type=f"{media_type}; charset=utf-8",
        headers={"Vary": "Accept", **(headers or {})},
    )
