"""Neo4j over Bolt with the official async driver: the only module that imports neo4j."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from neo4j import AsyncDriver, AsyncGraphDatabase
from neo4j.exceptions import AuthError, DriverError, Neo4jError, ServiceUnavailable, SessionExpired

from gateway.config import Settings
from gateway.errors import SourceUnavailable
from gateway.stores import breaker
from gateway.stores.guard import ServerInfo, guarded

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

    async def _records(self, cypher: str, **params: Any) -> list[dict[str, Any]]:
        result = await self.driver.execute_query(cypher, params, database_=self.database)
        return [record.data() for record in result.records]

    async def ping(self) -> None:
        await guarded(self, self.timeout, self._records("RETURN 1 AS one"), DRIVER_ERRORS, (AuthError,))

    async def server_info(self) -> ServerInfo:
        rows = await guarded(
            self,
            self.timeout,
            self._records("CALL dbms.components() YIELD name, versions, edition RETURN *"),
            DRIVER_ERRORS,
        )
        first = rows[0]
        return ServerInfo(self.name, f"{first['name']} {first['edition']}", str(first["versions"][0]))

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
