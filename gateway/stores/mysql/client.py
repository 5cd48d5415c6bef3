"""MySQL / MariaDB, the system of record: the only module that touches SQLAlchemy's engine."""

from __future__ import annotations

import itertools
import time
from contextvars import ContextVar
from typing import Any

from alembic.runtime.migration import MigrationContext
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from gateway.config import Settings
from gateway.stores import breaker
from gateway.stores.guard import PoolUse, ServerInfo, guarded

DRIVER_ERRORS: tuple[type[BaseException], ...] = (SQLAlchemyError,)
IDLE_PING_S = 5.0  # a pooled connection idle for longer is pinged before use


def engine_url(settings: Settings, url: str | None = None) -> str:
    """``url`` (by default the primary's) with the configured password."""
    parsed = make_url(url or settings.mysql_url).set(password=settings.mysql_password.get_secret_value())
    return parsed.render_as_string(hide_password=False)


def _engine(settings: Settings, url: str) -> AsyncEngine:
    engine = create_async_engine(
        engine_url(settings, url),
        pool_size=settings.mysql_pool_size,
        pool_recycle=1800,
        connect_args={"connect_timeout": max(1, int(settings.source_timeout_s))},
    )
    ping_when_idle(engine, IDLE_PING_S)
    return engine


# Whether the reads of the running code (and of the tasks it starts) may go to a replica: set for the reads of a
# Query operation only (engine/executor.py), so mutations, subscriptions and every job read the primary.
_replica_reads: ContextVar[bool] = ContextVar("gateway_mysql_replica_reads", default=False)


class replica_reads:  # used as a function: ``with replica_reads(True):``
    """Inside the block, reads.py's reads go to a replica (``on``) or to the primary (not ``on``)."""

    __slots__ = ("_on", "_token")

    def __init__(self, on: bool) -> None:
        self._on = on

    def __enter__(self) -> None:
        self._token = _replica_reads.set(self._on)

    def __exit__(self, *exc: object) -> None:
        _replica_reads.reset(self._token)


def reading_replicas() -> bool:
    return _replica_reads.get()


class MySQLReplica:
    """One read replica: its own engine and circuit breaker (a replica down opens its breaker, not the primary's),
    and ``target`` "replica" in explain and the metrics."""

    name = "mysql"
    target = "replica"

    def __init__(self, settings: Settings, url: str) -> None:
        self.timeout = settings.source_timeout_s
        self.url = url
        self.breaker = breaker.for_store(self.name, breaker.endpoint_of(url))
        self.engine = _engine(settings, url)


class MySQLSource:
    name = "mysql"

    def __init__(self, settings: Settings) -> None:
        self.timeout = settings.source_timeout_s
        self.breaker = breaker.for_store(self.name, breaker.endpoint_of(settings.mysql_url))
        self.engine: AsyncEngine = _engine(settings, settings.mysql_url)
        self.replicas = tuple(MySQLReplica(settings, url) for url in settings.mysql_replica_urls)
        # Explain and the metrics name the target of each MySQL call once there are replicas to tell apart.
        self.target: str | None = "primary" if self.replicas else None
        self._turn = itertools.count()

    def reader(self) -> MySQLSource | MySQLReplica:
        """Where a read of reads.py goes now: the next replica (round-robin) inside ``replica_reads(True)``, skipping
        a replica whose breaker is open; the primary otherwise, or when no replica is configured or admitted."""
        if not self.replicas or not _replica_reads.get():
            return self
        for _ in self.replicas:
            replica = self.replicas[next(self._turn) % len(self.replicas)]
            if replica.breaker.state != "open":
                return replica
        return self

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

    def pool(self) -> PoolUse:
        pool: Any = self.engine.pool
        return PoolUse(int(pool.size()), int(pool.checkedin() + pool.checkedout()), int(pool.checkedout()))

    async def close(self) -> None:
        await self.engine.dispose()
        for replica in self.replicas:
            await replica.engine.dispose()


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
