"""The one place a request's ``Context`` is built: for GraphQL over HTTP and for the WebSocket view alike."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from gateway.config import Settings
from gateway.context import Context
from gateway.sources import Sources
from gateway.trace import Trace
from loaders import Loaders


def build_context(
    request: Request | WebSocket, settings: Settings, sources: Sources, response: Response | None
) -> Context:
    """A fresh context: new DataLoaders (nothing cached across requests) and an empty trace."""
    return Context(
        request=request,
        response=response,
        settings=settings,
        sources=sources,
        loaders=Loaders(sources=sources, settings=settings),
        trace=Trace(),
    )
