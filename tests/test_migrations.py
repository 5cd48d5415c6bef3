"""Alembic migrations go up and down on a real MariaDB, and the migrated schema is exactly mysql_tables."""

from __future__ import annotations

import asyncio

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from gateway.config import Settings
from gateway.jobs.migrate import downgrade_mysql, head_revision, upgrade_mysql
from gateway.stores import Sources
from gateway.stores.mysql.tables import metadata
from tests.conftest import make_test_settings

TABLES = {
    "users", "categories", "product_categories", "products", "inventory", "orders", "order_items",
    "ratings", "cart_snapshots", "outbox",
}  # fmt: skip


def _settings() -> Settings:
    return make_test_settings(mysql_url=Settings().mysql_url.rsplit("/", 1)[0] + "/gateway_migrations_test")


async def test_migrations_up_down_up_and_match_the_tables() -> None:
    settings = _settings()
    sources = Sources.create(settings)
    try:
        await asyncio.to_thread(upgrade_mysql, settings)
        assert await sources.mysql.migration_revision() == head_revision()
        async with sources.mysql.engine.connect() as conn:
            names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
            assert names >= TABLES
            diff = await conn.run_sync(lambda c: compare_metadata(MigrationContext.configure(c), metadata))
            assert diff == [], diff

        await asyncio.to_thread(downgrade_mysql, settings, "base")
        assert await sources.mysql.migration_revision() is None
        async with sources.mysql.engine.connect() as conn:
            names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert names & TABLES == set()

        await asyncio.to_thread(upgrade_mysql, settings)
        assert await sources.mysql.migration_revision() == head_revision()
    finally:
        await sources.close()


async def test_inventory_never_goes_below_zero_and_ratings_stay_in_range() -> None:
    settings = _settings()
    await asyncio.to_thread(upgrade_mysql, settings)
    sources = Sources.create(settings)
    engine = sources.mysql.engine
    try:
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO users (id, email, name) VALUES (1, 'a@b.c', 'A')"))
            await conn.execute(text("INSERT INTO products (id, sku, title, price_cents) VALUES (1, 'S1', 'T', 100)"))
            await conn.execute(text("INSERT INTO inventory (product_id, quantity) VALUES (1, 1)"))
        with pytest.raises(DBAPIError, match="ck_inventory_quantity_not_negative"):
            async with engine.begin() as conn:
                await conn.execute(text("UPDATE inventory SET quantity = quantity - 2 WHERE product_id = 1"))
        with pytest.raises(DBAPIError, match="ck_ratings_rating_range"):
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO ratings (user_id, product_id, rating) VALUES (1, 1, 6)"))
        with pytest.raises(DBAPIError, match="ck_orders_status_known"):
            async with engine.begin() as conn:
                await conn.execute(
                    text(
                        "INSERT INTO orders (user_id, status, total_cents, idempotency_key) VALUES (1, 'lost', 0, 'k')"
                    )
                )
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT quantity FROM inventory"))).scalar_one() == 1
    finally:
        await sources.close()
        await asyncio.to_thread(downgrade_mysql, settings, "base")
