"""The one place a request's ``Context`` is built: for GraphQL over HTTP and for the WebSocket view alike."""

from __future__ import annotations

import re
from uuid import uuid4

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from gateway.auth import Viewer, session_from, viewer_from
from gateway.config import Settings
from gateway.context import Context
from gateway.stores import Sources
from gateway.trace import Trace
from loaders import Loaders


def build_context(
    request: Request | WebSocket,
    settings: Settings,
    sources: Sources,
    response: Response | None,
    *,
    with_viewer: bool = True,
    identified: tuple[Viewer | None, str, Trace] | None = None,
) -> Context:
    """A fresh context: new DataLoaders (nothing cached across requests), an empty trace, and the viewer (a guest
    with ``with_viewer=False``: a WebSocket's viewer is set at connection_init, gateway/http/graphql.py).
    ``identified``: the viewer, request id and trace the caller has already made (``identify``).

    Raises ``TokenError`` when the request carries a bad token (the caller answers 401).
    """
    headers = request.headers
    if identified is None:
        viewer = viewer_from(settings, headers.get("authorization")) if with_viewer else None
        identified = (viewer, request_id_of(request), Trace())
    viewer, request_id, trace = identified
    return Context(
        request=request,
        response=response,
        settings=settings,
        sources=sources,
        loaders=Loaders(sources=sources, settings=settings),
        trace=trace,
        viewer=viewer,
        session_id=session_from(headers.get("x-session-id"), request.cookies.get(settings.session_cookie)),
        request_id=request_id,
    )


def request_id_of(request: Request | WebSocket) -> str:
    """The caller's X-Request-Id when it is sane, else a fresh one."""
    request_id = request.headers.get("x-request-id", "")
    return request_id if _REQUEST_ID.match(request_id) else uuid4().hex


_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")  # a caller's X-Request-Id is kept only when it is sane
