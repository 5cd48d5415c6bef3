"""The four backing stores. Only modules in this package import a database driver (ruff TID251)."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.config import Settings, SourceName
from gateway.stores import breaker
from gateway.stores.guard import ServerInfo, Source
from gateway.stores.mongo.client import MongoSource
from gateway.stores.mysql.client import MySQLSource
from gateway.stores.neo4j.client import Neo4jSource
from gateway.stores.redis.client import RedisSource

__all__ = ["ServerInfo", "Source", "Sources"]


@dataclass(frozen=True, slots=True)
class Sources:
    """One client per store, created once in the lifespan and closed on exit. Nothing connects on creation."""

    mysql: MySQLSource
    mongodb: MongoSource
    neo4j: Neo4jSource
    redis: RedisSource

    @classmethod
    def create(cls, settings: Settings) -> Sources:
        breaker.configure(failures=settings.breaker_failures, reset_s=settings.breaker_reset_s)
        return cls(
            mysql=MySQLSource(settings),
            mongodb=MongoSource(settings),
            neo4j=Neo4jSource(settings),
            redis=RedisSource(settings),
        )

    def by_name(self, name: SourceName) -> Source:
        source: Source = getattr(self, name)
        return source

    def all(self) -> tuple[Source, ...]:
        return (self.mysql, self.mongodb, self.neo4j, self.redis)

    async def close(self) -> None:
        for source in self.all():
            await source.close()
