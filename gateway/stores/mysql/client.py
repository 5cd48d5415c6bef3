"""MySQL / MariaDB, the system of record: the only module that touches SQLAlchemy's engine."""

from __future__ import annotations

import time
from typing import Any

from alembic.runtime.migration import MigrationContext
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from gateway.config import Settings
from gateway.stores import breaker
from gateway.stores.guard import ServerInfo, guarded

DRIVER_ERRORS: tuple[type[BaseException], ...] = (SQLAlchemyError,)
IDLE_PING_S = 5.0  # a pooled connection idle for longer is pinged before use


def engine_url(settings: Settings) -> str:
    url = make_url(settings.mysql_url).set(password=settings.mysql_password.get_secret_value())
    return url.render_as_string(hide_password=False)


class MySQLSource:
    name = "mysql"

    def __init__(self, settings: Settings) -> None:
        self.timeout = settings.source_timeout_s
        self.breaker = breaker.for_store(self.name, breaker.endpoint_of(settings.mysql_url))
        self.engine: AsyncEngine = create_async_engine(
            engine_url(settings),
            pool_size=settings.mysql_pool_size,
            pool_recycle=1800,
            connect_args={"connect_timeout": max(1, int(settings.source_timeout_s))},
        )
        ping_when_idle(self.engine, IDLE_PING_S)

    async def _scalar(self, sql: str) -> object:
        async with self.engine.connect() as conn:
            return (await conn.execute(text(sql))).scalar_one()

    async def ping(self) -> None:
        await guarded(self, self.timeout, self._scalar("SELECT 1"), DRIVER_ERRORS)

    async def server_info(self) -> ServerInfo:
        version = str(await guarded(self, self.timeout, self._scalar("SELECT VERSION()"), DRIVER_ERRORS))
        server = "MariaDB" if "mariadb" in version.lower() else "MySQL"
        return ServerInfo(self.name, server, version)

    async def migration_revision(self) -> str | None:
        """The Alembic revision the database is at (None before the first migration)."""

        async def read() -> str | None:
            async with self.engine.connect() as conn:
                revision: str | None = await conn.run_sync(
                    lambda sync_conn: MigrationContext.configure(sync_conn).get_current_revision()
                )
            return revision

        return await guarded(self, self.timeout, read(), DRIVER_ERRORS)

    async def close(self) -> None:
        await self.engine.dispose()


def ping_when_idle(engine: AsyncEngine, idle_s: float) -> None:
    """Ping a pooled connection before use only when it sat idle for over ``idle_s`` (SQLAlchemy's recipe for
    custom pessimistic disconnect handling): ``pool_pre_ping`` pings at every checkout, a second round trip for
    every statement of a busy gateway. A connection that died while in use (the server restarted between two
    statements) is caught by the read retrying once on a fresh connection (``mysql_reads``); any other statement's
    failure invalidates the pool, so the next one connects anew."""

    def connected(dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    def checked_in(dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    def checked_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        if time.monotonic() - record.info.get("idle_since", 0.0) <= idle_s:
            return
        try:
            dbapi_connection.ping(False)
        except Exception as exc:  # the pool drops this connection and checks out another
            raise DisconnectionError(f"pooled connection found dead: {exc}") from exc

    event.listen(engine.sync_engine, "connect", connected)
    event.listen(engine.sync_engine, "checkin", checked_in)
    event.listen(engine.sync_engine, "checkout", checked_out)


async def create_database_if_missing(settings: Settings) -> None:
    """Create the configured database (utf8mb4) when it does not exist yet; the user needs CREATE on it."""
    url = make_url(engine_url(settings))
    name = url.database or ""
    if not name.replace("_", "").isalnum():
        raise ValueError(f"refusing to create database {name!r}: letters, digits and _ only")
    engine = create_async_engine(url._replace(database=None), pool_size=1)

    async def create() -> None:
        async with engine.begin() as conn:
            exists = await conn.execute(
                text("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = :name"), {"name": name}
            )
            if exists.first():
                return
            await conn.execute(
                text(f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
            )

    try:
        await guarded("mysql", settings.source_timeout_s, create(), DRIVER_ERRORS)
    finally:
        await engine.dispose()
