"""Which stores the gateway federates and how they answer right now."""

from __future__ import annotations

import strawberry

from loaders.backends import BackendStatus
from resolvers import backends
from resolvers.info import Info


@strawberry.type(description="A backing store as the gateway sees it, read from the store itself.")
class Backend:
    server: str = strawberry.field(description="Server product, e.g. MariaDB, MongoDB, Neo4j Kernel community.")
    version: str
    latency_ms: float = strawberry.field(description="Time of the round trip that read this, in ms.")

    @classmethod
    def from_status(cls, status: BackendStatus) -> Backend:
        return cls(server=status.server, version=status.version, latency_ms=status.latency_ms)


@strawberry.type(
    description="One field per store. Each is null (with a SOURCE_UNAVAILABLE error) when its store is down."
)
class Backends:
    @strawberry.field
    async def mysql(self, info: Info) -> Backend | None:
        return Backend.from_status(await backends.status(info, "mysql"))

    @strawberry.field
    async def mongodb(self, info: Info) -> Backend | None:
        return Backend.from_status(await backends.status(info, "mongodb"))

    @strawberry.field
    async def neo4j(self, info: Info) -> Backend | None:
        return Backend.from_status(await backends.status(info, "neo4j"))

    @strawberry.field
    async def redis(self, info: Info) -> Backend | None:
        return Backend.from_status(await backends.status(info, "redis"))
