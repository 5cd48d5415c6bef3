"""Neo4j over Bolt with the official async driver: the only module that imports neo4j.

Every read runs as a READ transaction and every write as a WRITE one, so that with a ``neo4j://`` URL (a cluster)
the driver routes reads to followers and read replicas and writes to the leader. Reads and writes of one process
share one bookmark manager (``Neo4jSource.bookmarks``): a read that starts after a write of this process has
returned (the relay's round, in ``gateway relay`` or in ``gateway serve``) waits on whichever server answers it
until that server has applied the write (causal consistency); docs/scaling.md says what this promises across
processes."""

from __future__ import annotations

import asyncio
import time
from typing import Any, LiteralString

from neo4j import AsyncDriver, AsyncGraphDatabase, EagerResult, RoutingControl
from neo4j.api import AsyncBookmarkManager
from neo4j.exceptions import AuthError, DriverError, Neo4jError, ServiceUnavailable, SessionExpired

from gateway.config import Settings
from gateway.errors import SourceUnavailable
from gateway.stores import breaker
from gateway.stores.guard import PoolUse, ServerInfo, guarded

DRIVER_ERRORS: tuple[type[BaseException], ...] = (Neo4jError, DriverError)


class Neo4jSource:
    name = "neo4j"

    def __init__(self, settings: Settings) -> None:
        self.timeout = settings.source_timeout_s
        self.breaker = breaker.for_store(self.name, breaker.endpoint_of(settings.neo4j_url))
        self.database = settings.neo4j_database
        self.driver: AsyncDriver = AsyncGraphDatabase.driver(
            settings.neo4j_url,
            auth=(settings.neo4j_user, settings.neo4j_password.get_secret_value()),
            connection_timeout=settings.source_timeout_s,
            connection_acquisition_timeout=settings.source_timeout_s,
            max_connection_pool_size=50,
        )
        # Bookmarks of this process's transactions, read and write: passed to every session and execute_query.
        self.bookmarks: AsyncBookmarkManager = AsyncGraphDatabase.bookmark_manager()

    async def read_query(self, cypher: LiteralString, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """One auto-committed READ query (routed to a follower in a cluster), every record as a dict."""
        result = await self.driver.execute_query(
            cypher, params, database_=self.database, routing_=RoutingControl.READ, bookmark_manager_=self.bookmarks
        )
        return [record.data() for record in result.records]

    async def write_query(self, cypher: LiteralString, params: dict[str, Any] | None = None) -> EagerResult:
        """One auto-committed WRITE query (to the leader in a cluster); its summary counts what changed."""
        return await self.driver.execute_query(
            cypher, params, database_=self.database, routing_=RoutingControl.WRITE, bookmark_manager_=self.bookmarks
        )

    async def ping(self) -> None:
        await guarded(self, self.timeout, self.read_query("RETURN 1 AS one"), DRIVER_ERRORS, (AuthError,))

    async def server_info(self) -> ServerInfo:
        rows = await guarded(
            self,
            self.timeout,
            self.read_query("CALL dbms.components() YIELD name, versions, edition RETURN *"),
            DRIVER_ERRORS,
        )
        first = rows[0]
        return ServerInfo(self.name, f"{first['name']} {first['edition']}", str(first["versions"][0]))

    def pool(self) -> PoolUse:
        config = getattr(getattr(self.driver, "_pool", None), "pool_config", None)  # the driver publishes no use
        return PoolUse(None if config is None else int(config.max_connection_pool_size))

    async def close(self) -> None:
        await self.driver.close()


async def set_initial_password(url: str, user: str, password: str, *, wait: float = 0.0) -> bool:
    """Give a fresh server its password: it starts with ``neo4j``/``neo4j``, expired.

    Waits up to ``wait`` seconds for Bolt to answer. Returns False when the configured password already
    works, True when this call set it. Raises SourceUnavailable when neither password is accepted.
    """
    deadline = time.monotonic() + wait
    while True:
        try:
            return await _set_initial_password(url, user, password)
        except (ServiceUnavailable, SessionExpired, OSError) as exc:
            if time.monotonic() >= deadline:
                raise SourceUnavailable("neo4j", f"Bolt does not answer at {url}: {exc}") from exc
            await asyncio.sleep(0.5)


async def _set_initial_password(url: str, user: str, password: str) -> bool:
    async with AsyncGraphDatabase.driver(url, auth=(user, password)) as driver:
        if await driver.verify_authentication():  # False (not an exception) when the password is refused
            return False
    async with AsyncGraphDatabase.driver(url, auth=(user, "neo4j")) as driver:
        try:
            async with driver.session(database="system") as session:
                result = await session.run("ALTER CURRENT USER SET PASSWORD FROM 'neo4j' TO $new", new=password)
                await result.consume()
        except AuthError as exc:
            raise SourceUnavailable(
                "neo4j",
                "neither the configured password nor the initial one is accepted: this data directory was set "
                "up with another GATEWAY_NEO4J_PASSWORD (set that one, or remove .services/neo4j/data)",
            ) from exc
    return True
