"""GraphQL over WebSocket (strawberry's ASGI view, graphql-transport-ws only) with the gateway's context.

GET and POST /graphql are served by ``gateway.http.graphql_http``; this view is mounted for the WebSocket route
only (subscriptions). One context serves a whole connection. Its viewer is decided at ``connection_init``: the
token in the payload (``{"Authorization": "Bearer …"}``, any case of the key), else the upgrade request's
``Authorization`` header, else a guest. A token that is there but bad closes the connection (4403, as strawberry
rejects a connection), the WebSocket counterpart of HTTP's 401. Cross-origin browser connections are refused by
strawberry's origin check.
"""

from __future__ import annotations

from typing import cast

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET, UnsetType

from gateway.auth import TokenError, viewer_from
from gateway.config import Settings
from gateway.context import Context
from gateway.http.context import build_context
from schema import schema


class GatewayGraphQL(GraphQL[Context, None]):
    def __init__(self, settings: Settings) -> None:
        super().__init__(schema, graphql_ide=None, subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,))
        self.settings = settings

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        return build_context(
            request,
            self.settings,
            request.state.sources,
            response if isinstance(response, Response) else None,
            with_viewer=not isinstance(request, WebSocket),  # a WebSocket's comes at connection_init
        )

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        authorization = connection_authorization(context.connection_params)
        if authorization is None:
            authorization = context.request.headers.get("authorization")
        try:
            context.viewer = viewer_from(self.settings, authorization)
        except TokenError as exc:
            raise ConnectionRejectionError({"message": str(exc), "code": "UNAUTHENTICATED"}) from exc
        return cast("UnsetType", UNSET)  # the plain connection_ack


def connection_authorization(params: dict[str, object] | None) -> str | None:
    """The ``Authorization`` entry of a connection_init payload (key in any case), if it is a string."""
    for key, value in (params or {}).items():
        if key.lower() == "authorization" and isinstance(value, str):
            return value
    return None
