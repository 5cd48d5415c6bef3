"""The local MariaDB replica (``scripts/services start mysql-replica``; scripts/test starts it): settings with it as
the replica of the test database, an app on them, and the replica's own controls (pause and resume its SQL thread,
wait until it has applied everything the primary committed)."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import text
from starlette.applications import Starlette

from gateway.config import Settings
from gateway.http.app import create_app
from gateway.jobs.seeding import SeedReport
from gateway.stores import Sources
from gateway.stores.mysql.client import MySQLReplica
from tests.conftest import make_test_settings
from tests.services import state_dir
from tests.writes.conftest import stocked

__all__ = ["stocked"]

STICKY_S = 600.0  # far longer than any test: read-your-writes is asserted, never a duration


def replica_url(settings: Settings) -> str:
    head, database = settings.mysql_url.rsplit("/", 1)
    host, port = head.rsplit(":", 1)
    return f"{host}:{int(port) + 1000}/{database}"  # scripts/services: the primary's port + 1000


def replica_sql(statement: str) -> str:
    """Run ``statement`` on the replica as root (its socket): what only an operator may do (pause replication)."""
    socket = state_dir() / "run" / "mysql-replica.sock"
    done = subprocess.run(
        ["mariadb", "--no-defaults", f"--socket={socket}", "-uroot", "-N", "-e", statement],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture(scope="session")
def replica_settings() -> Settings:
    base = make_test_settings()
    # A cache namespace of this run's own: the writers' marks of an earlier run (in Redis for STICKY_S) are not seen.
    return make_test_settings(
        mysql_replica_urls=(replica_url(base),),
        mysql_replica_sticky_s=STICKY_S,
        cache_namespace=f"replicas-{uuid.uuid4().hex[:8]}",
    )


@pytest_asyncio.fixture(scope="session")
async def replica_sources(replica_settings: Settings, seeded: SeedReport) -> AsyncIterator[Sources]:
    sources = Sources.create(replica_settings)
    replica = sources.mysql.replicas[0]
    try:
        async with replica.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:
        await sources.close()
        pytest.fail(f"no MariaDB replica at {replica.url}: scripts/services start mysql-replica ({exc})")
    replica_sql("START SLAVE")  # an earlier run stopped halfway leaves it paused
    await caught_up(sources)
    yield sources
    await sources.close()


async def caught_up(sources: Sources) -> None:
    """Until the replica has applied every transaction the primary committed so far (MASTER_GTID_WAIT)."""
    async with sources.mysql.engine.connect() as conn:
        position = (await conn.execute(text("SELECT @@gtid_binlog_pos"))).scalar_one()
    waited = replica_sql(f"SELECT MASTER_GTID_WAIT('{position}', 60)")
    assert waited == "0", f"the replica did not reach {position} within 60 s"


async def selects(engine_of: Sources | MySQLReplica) -> int:
    """The server's own count of SELECT statements (Com_select): the primary's, or one replica's."""
    engine = engine_of.mysql.engine if isinstance(engine_of, Sources) else engine_of.engine
    async with engine.connect() as conn:
        row = (await conn.execute(text("SHOW GLOBAL STATUS LIKE 'Com_select'"))).one()
    return int(row[1])


@pytest_asyncio.fixture(scope="session")
async def replica_app(replica_settings: Settings, replica_sources: Sources) -> AsyncIterator[Starlette]:
    application = create_app(replica_settings)
    async with application.router.lifespan_context(application) as state:
        application.state.lifespan_state = state
        yield application


@pytest_asyncio.fixture(scope="session")
async def replica_client(replica_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    state = replica_app.state.lifespan_state

    async def with_state(scope, receive, send):  # type: ignore[no-untyped-def]
        scope["state"] = dict(state)
        await replica_app(scope, receive, send)

    transport = httpx.ASGITransport(app=with_state)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
        yield http
