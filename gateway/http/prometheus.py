"""GET /metrics: the Prometheus text exposition of gateway/observability/metrics.py.

The outbox gauges are read when scraped, with one ``outbox_lag`` query bounded by the MySQL source timeout; when
MySQL does not answer they are left out of that scrape (the scrape itself still succeeds).
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response

from gateway.errors import SourceError
from gateway.observability import metrics
from gateway.stores import Sources
from gateway.stores.mysql import outbox as mysql_outbox

log = logging.getLogger(__name__)


async def outbox(sources: Sources) -> metrics.OutboxLag | None:
    try:
        lag = await mysql_outbox.lag(sources.mysql, sources.mysql.timeout)
    except SourceError as exc:
        log.warning("metrics: outbox gauges skipped, MySQL did not answer: %s", exc.detail)
        return None
    return metrics.OutboxLag(lag.pending, lag.oldest_age_s, lag.parked)


async def metrics_endpoint(request: Request) -> Response:
    http = getattr(request.app.state, "graphql_http", None)
    memory, fresh = (http.memory_stats(), http.memory_fresh()) if http is not None else (None, None)
    sources: Sources = request.state.sources
    buffered = sources.mongodb.events.buffered
    body = metrics.exposition(await outbox(sources), memory=memory, fresh=fresh, events_buffered=buffered)
    return Response(body, headers={"Content-Type": metrics.CONTENT_TYPE, "Cache-Control": "no-store"})
