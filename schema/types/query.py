"""The root Query type."""

from __future__ import annotations

import strawberry

from schema.types.backends import Backends


@strawberry.type
class Query:
    @strawberry.field(description="The four stores behind this gateway, each read live.")
    def backends(self) -> Backends:
        return Backends()
