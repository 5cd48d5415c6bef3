"""What a resolver gets as ``info.context``: built fresh for every request."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from gateway.config import Settings
from gateway.sources import Sources
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
