"""The one place a request's ``Context`` is built: for GraphQL over HTTP and for the WebSocket view alike."""

from __future__ import annotations

import itertools
import os
import re

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from gateway.auth import Viewer, session_from, viewer_from
from gateway.config import Settings
from gateway.context import Context
from gateway.http.analytics import device_of
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
        device=device_of(headers),
        request_id=request_id,
    )


def request_id_of(request: Request | WebSocket) -> str:
    """The caller's X-Request-Id when it is sane, else a fresh one."""
    request_id = request.headers.get("x-request-id")
    return request_id if request_id is not None and _REQUEST_ID.match(request_id) else new_request_id()


def new_request_id() -> str:
    """32 hex digits, as a uuid4's: 48 random bits drawn once per process, then a counter (a uuid4 per request cost
    a few percent of a request answered from memory)."""
    return f"{_prefix}{next(_counter):020x}"


def _new_process() -> None:
    global _prefix, _counter
    _prefix, _counter = os.urandom(6).hex(), itertools.count()


_prefix, _counter = "", itertools.count()
_new_process()
os.register_at_fork(after_in_child=_new_process)  # a forked worker draws its own


_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")  # a caller's X-Request-Id is kept only when it is sane
