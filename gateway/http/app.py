"""The ASGI application: routes, and a lifespan that owns the four store clients."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypedDict

from starlette.applications import Starlette
from starlette.routing import Route, WebSocketRoute

from gateway.config import Settings
from gateway.http.draining import Drain, hook_signals
from gateway.http.graphiql import ASSET_PREFIX, asset_endpoint, missing_assets
from gateway.http.graphql import GatewayGraphQL
from gateway.http.graphql_http import GraphQLHTTP
from gateway.http.health import health, ready
from gateway.http.manifests import Manifests, manifest_paths, schema_problems
from gateway.http.prometheus import metrics_endpoint
from gateway.http.stats import Sampler, stats_endpoint
from gateway.jobs.relay import Relay
from gateway.jobs.reports import ReportsJob
from gateway.observability import otel
from gateway.observability.metrics import operation_names
from gateway.observability.request import instrumented
from gateway.stores import Sources
from schema import schema

log = logging.getLogger("gateway.app")


class State(TypedDict):
    sources: Sources
    drain: Drain


def load_manifests(settings: Settings) -> Manifests:
    """The persisted-operation manifests, read once; raises ``ManifestError`` (naming the file and the problem)."""
    manifests = Manifests.load(manifest_paths(settings.persisted_manifests, settings.persisted_dir))
    if settings.persisted_only and not manifests.by_id:
        log.warning("GATEWAY_PERSISTED_ONLY is on and no manifest is loaded: every GraphQL request will be refused")
    if manifests.manifests:
        count = len(manifests.by_id)
        log.info("persisted operations: %d from %d manifest(s)", count, len(manifests.manifests))
    for manifest in manifests.manifests:  # served all the same: they answer with their validation error
        for problem in schema_problems(manifest, schema._schema):
            log.warning("persisted operation no longer valid against the schema: %s", problem)
    return manifests


def create_app(settings: Settings | None = None) -> Starlette:
    """The app; raises ``ManifestError`` when a persisted manifest is invalid (the gateway does not start)."""
    settings = settings or Settings()
    manifests = load_manifests(settings)
    operation_names.allow(operation.name for operation in manifests.operations())  # metric labels always kept
    if settings.otel_endpoint:
        otel.configure(settings.otel_endpoint)

    graphql_http = GraphQLHTTP(settings, manifests)
    sampler = Sampler()  # /stats: the counters at start and over the last minute

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[State]:
        if settings.graphiql and (missing := missing_assets(settings.graphiql_assets_dir)):
            log.warning("GraphiQL assets missing under %s: %s", settings.graphiql_assets_dir, missing)
        gc.freeze()  # what exists at start lives as long as the process: never scanned again
        gc.set_threshold(settings.gc_threshold, *gc.get_threshold()[1:])
        sources = Sources.create(settings)
        drain = Drain()
        unhook = hook_signals(drain, settings.shutdown_drain_s)
        stop = asyncio.Event()
        relay_task = None
        if settings.relay_in_serve:
            relay_task = asyncio.create_task(Relay(sources, settings).run_forever(stop), name="outbox-relay")
        reports_task = None
        if settings.reports_in_serve:  # one build per interval among every process (a Redis lease)
            reports_task = asyncio.create_task(ReportsJob(sources, settings).run_forever(stop), name="reports")
        preparing = asyncio.create_task(graphql_http.prepare_persisted(sources), name="prepare-persisted")
        following = asyncio.create_task(graphql_http.follow_invalidations(sources), name="follow-invalidations")
        charging = asyncio.create_task(graphql_http.charge_rate_limits(sources), name="charge-rate-limits")
        sampling = asyncio.create_task(sampler.run(), name="stats-sampler")
        log.info("gateway process %d started", os.getpid())
        try:
            yield {"sources": sources, "drain": drain}
        finally:
            preparing.cancel()
            following.cancel()
            charging.cancel()
            sampling.cancel()
            drain.begin()
            unhook()
            stop.set()
            if relay_task is not None:
                await relay_task
            if reports_task is not None:
                reports_task.cancel()  # a build in flight is abandoned: its days are rebuilt by the next one
                with contextlib.suppress(asyncio.CancelledError):
                    await reports_task
            await sources.close()
            log.info("gateway process %d: store clients closed", os.getpid())

    graphql_ws = GatewayGraphQL(settings)  # subscriptions; GET and POST are GraphQLHTTP's
    routes = [
        Route("/health", health, methods=["GET"]),
        Route("/ready", ready, methods=["GET"]),
        Route("/stats", stats_endpoint(settings, sampler), methods=["GET"]),
        Route("/graphql", instrumented(graphql_http.endpoint), methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql_ws),
        Route(f"{ASSET_PREFIX}/{{name:str}}", asset_endpoint(settings.graphiql_assets_dir), methods=["GET"]),
    ]
    if settings.metrics:
        routes.append(Route("/metrics", metrics_endpoint, methods=["GET"]))
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.graphql_http = graphql_http  # its caches, for /metrics' gauges and for tests
    return app
