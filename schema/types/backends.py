"""Which stores the gateway federates and how they answer right now."""

from __future__ import annotations

import strawberry

from resolvers import backends


@strawberry.type(description="A backing store as the gateway sees it, read from the store itself.")
class Backend:
    server: str = strawberry.field(description="Server product, e.g. MariaDB, FerretDB, Neo4j Community.")
    version: str
    latency_ms: float = strawberry.field(description="Time of the round trip that read this, in ms.")


@strawberry.type(
    description="One field per store. Each is null (with a SOURCE_UNAVAILABLE error) when its store is down."
)
class Backends:
    mysql: Backend | None = strawberry.field(resolver=backends.mysql)
    mongodb: Backend | None = strawberry.field(resolver=backends.mongodb)
    neo4j: Backend | None = strawberry.field(resolver=backends.neo4j)
    redis: Backend | None = strawberry.field(resolver=backends.redis)
