"""GraphQL over HTTP (strawberry's ASGI view) with the gateway's context and its offline GraphiQL page."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from gateway.config import Settings
from gateway.context import Context
from gateway.http.graphiql import page_html
from gateway.trace import Trace
from loaders import Loaders
from schema import schema


class GatewayGraphQL(GraphQL[Context, None]):
    def __init__(self, settings: Settings) -> None:
        super().__init__(schema, graphql_ide="graphiql" if settings.graphiql else None)
        self.settings = settings
        self._page = page_html()

    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse(self._page)

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        sources = request.state.sources
        return Context(
            request=request,
            response=response if isinstance(response, Response) else None,
            settings=self.settings,
            sources=sources,
            loaders=Loaders(sources=sources, settings=self.settings),
            trace=Trace(),
        )
