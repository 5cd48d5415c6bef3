"""The gateway's public GraphQL schema. ``schema.graphql`` beside this file is its committed snapshot."""

from __future__ import annotations

from pathlib import Path

import strawberry
from graphql import GraphQLError
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from schema.extensions.error_codes import ErrorCodes
from schema.extensions.limits import Limits
from schema.extensions.operation import OperationName
from schema.scalars import SCALARS
from schema.types.mutation import Mutation
from schema.types.query import Query
from schema.types.subscription import Subscription

SNAPSHOT = Path(__file__).with_name("schema.graphql")


class GatewaySchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Nothing here: ErrorCodes logs what is unexpected, with the request id; expected errors are answers."""


schema = GatewaySchema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    extensions=[Limits, ErrorCodes, OperationName],
    config=StrawberryConfig(scalar_map=SCALARS),
)

__all__ = ["SNAPSHOT", "schema"]
