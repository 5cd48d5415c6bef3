"""The gateway's public GraphQL schema. ``schema.graphql`` beside this file is its committed snapshot."""

from __future__ import annotations

from pathlib import Path

import strawberry
from strawberry.schema.config import StrawberryConfig

from schema.extensions.error_codes import ErrorCodes
from schema.scalars import SCALARS
from schema.types.query import Query

SNAPSHOT = Path(__file__).with_name("schema.graphql")

schema = strawberry.Schema(query=Query, extensions=[ErrorCodes], config=StrawberryConfig(scalar_map=SCALARS))

__all__ = ["SNAPSHOT", "schema"]
