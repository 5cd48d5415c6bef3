"""GraphQL over WebSocket (strawberry's ASGI view) with the gateway's context.

GET and POST /graphql are served by ``gateway.http.graphql_http``; this view is mounted for the WebSocket route
only (subscriptions).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from gateway.config import Settings
from gateway.context import Context
from gateway.http.context import build_context
from schema import schema


class GatewayGraphQL(GraphQL[Context, None]):
    def __init__(self, settings: Settings) -> None:
        super().__init__(schema, graphql_ide=None)
        self.settings = settings

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        return build_context(
            request,
            self.settings,
            request.state.sources,
            response if isinstance(response, Response) else None,
        )
