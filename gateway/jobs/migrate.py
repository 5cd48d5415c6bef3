"""Schema of every store: Alembic migrations for MySQL, collections and indexes for MongoDB, constraints for
Neo4j. ``gateway migrate`` runs all three; each is idempotent."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

import gateway.jobs.migrations
from gateway.config import Settings
from gateway.stores import Sources
from gateway.stores.mongo.schema import ensure_collections
from gateway.stores.mysql.client import create_database_if_missing
from gateway.stores.neo4j import popularity
from gateway.stores.neo4j.schema import ensure_constraints

MIGRATIONS = Path(gateway.jobs.migrations.__file__).parent


def alembic_config(settings: Settings) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["settings"] = settings
    return config


def head_revision() -> str | None:
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def upgrade_mysql(settings: Settings, revision: str = "head") -> None:
    """Blocking (Alembic runs its own event loop): call from a thread when inside one."""
    asyncio.run(create_database_if_missing(settings))
    command.upgrade(alembic_config(settings), revision)


def downgrade_mysql(settings: Settings, revision: str) -> None:
    command.downgrade(alembic_config(settings), revision)


async def ensure_document_and_graph_schema(sources: Sources) -> list[str]:
    created = await ensure_collections(sources.mongodb.db)
    created += await ensure_constraints(sources.neo4j.driver, sources.neo4j.database)
    filled = await popularity.refresh(sources.neo4j, missing=True)  # a graph seeded before the counters existed
    if filled:
        created.append(f"Product.units and Product.orders of {filled} products")
    return created
