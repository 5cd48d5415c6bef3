"""What a resolver gets as ``info.context``: built fresh for every request."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import uuid4

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from gateway.auth import Viewer
from gateway.config import Settings
from gateway.stores import Sources
from gateway.trace import Trace
from loaders import Loaders


@dataclass(slots=True)
class Context:
    request: Request | WebSocket
    response: Response | None
    settings: Settings
    sources: Sources
    loaders: Loaders
    trace: Trace
    viewer: Viewer | None = None  # from the Bearer token; None for a guest
    session_id: str | None = None  # a guest's X-Session-Id (or cookie)
    device: str | None = None  # X-Device, else what the User-Agent says (gateway/http/analytics.py): for events
    request_id: str = field(default_factory=lambda: uuid4().hex)  # in logs and in masked errors
    private: bool = False  # a field for this viewer only was read: a cached response is theirs alone
    cost: int = 0  # the operation's cost, as the limits computed it: what the rate limit charges
    uncacheable: bool = False  # the answer recorded an event (a search): never stored, so every ask records it
    # WebSocket only: the graphql-transport-ws connection_init payload (strawberry sets it; gateway/http/graphql.py
    # reads the token from it). One context serves the whole connection.
    connection_params: dict[str, object] | None = None
