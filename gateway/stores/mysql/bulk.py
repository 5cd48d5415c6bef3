"""Batched MySQL reads and writes by shared key, for seeding and reconciling (one statement per chunk)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.stores.guard import bulk_bound, guarded
from gateway.stores.mysql import tables as t
from gateway.stores.mysql.client import DRIVER_ERRORS, MySQLSource

__all__ = ["Table", "columns", "count", "insert_missing", "key_set", "purchased_keys", "purchased_rows", "rows_by_key"]

Row = dict[str, Any]
Key = tuple[Any, ...]


def _key_clause(table: Table, key: Sequence[str], keys: Sequence[Key]) -> Any:
    if len(key) == 1:
        return table.c[key[0]].in_([k[0] for k in keys])
    return tuple_(*(table.c[name] for name in key)).in_(keys)


async def _insert_missing(engine: AsyncEngine, table: Table, rows: Sequence[Row], key: Sequence[str]) -> int:
    keys = [tuple(row[name] for name in key) for row in rows]
    async with engine.begin() as conn:
        columns = [table.c[name] for name in key]
        found = await conn.execute(select(*columns).where(_key_clause(table, key, keys)))
        present = {tuple(r) for r in found}
        missing = [row for row, k in zip(rows, keys, strict=True) if k not in present]
        if missing:
            await conn.execute(table.insert(), missing)
    return len(missing)


async def insert_missing(source: MySQLSource, table: Table, rows: Sequence[Row], key: Sequence[str]) -> int:
    """Insert the rows whose key is not in ``table`` yet (one SELECT and one executemany); returns rows written."""
    if not rows:
        return 0
    return await guarded(
        source, bulk_bound(source, 60.0), _insert_missing(source.engine, table, rows, key), DRIVER_ERRORS
    )


async def _fetch(engine: AsyncEngine, statement: Any) -> list[tuple[Any, ...]]:
    async with engine.connect() as conn:
        return [tuple(row) for row in await conn.execute(statement)]


async def key_set(source: MySQLSource, table: Table, key: Sequence[str]) -> set[Key]:
    """Every key of ``table`` (one query)."""
    statement = select(*(table.c[name] for name in key))
    return set(await guarded(source, bulk_bound(source, 120.0), _fetch(source.engine, statement), DRIVER_ERRORS))


async def count(source: MySQLSource, table: Table) -> int:
    rows = await guarded(
        source, bulk_bound(source, 60.0), _fetch(source.engine, select(func.count()).select_from(table)), DRIVER_ERRORS
    )
    return int(rows[0][0])


async def columns(source: MySQLSource, table: Table, names: Sequence[str]) -> list[tuple[Any, ...]]:
    """These columns of every row of ``table`` (one query)."""
    statement = select(*(table.c[name] for name in names))
    return await guarded(source, bulk_bound(source, 120.0), _fetch(source.engine, statement), DRIVER_ERRORS)


async def rows_by_key(
    source: MySQLSource, table: Table, key: Sequence[str], keys: Sequence[Key], names: Sequence[str]
) -> list[Row]:
    """These columns of the rows of ``table`` whose ``key`` is one of ``keys`` (one query; chunk the keys)."""
    if not keys:
        return []
    statement = select(*(table.c[name] for name in names)).where(_key_clause(table, key, keys))
    found = await guarded(source, bulk_bound(source, 120.0), _fetch(source.engine, statement), DRIVER_ERRORS)
    return [dict(zip(names, row, strict=True)) for row in found]


def _purchased(*extra: Any) -> Any:
    """Order lines of orders not cancelled: what PURCHASED edges stand for (a cancelled order's edges go)."""
    i, o = t.order_items, t.orders
    return select(i.c.order_id, i.c.product_id, *extra).join(o, o.c.id == i.c.order_id).where(o.c.status != "cancelled")


def _of_live_users(statement: Any) -> Any:
    """Only orders of users not forgotten: a forgotten user's graph node went with its edges (deleteUser)."""
    return statement.where(t.orders.c.user_id.in_(select(t.users.c.id).where(t.users.c.deleted_at.is_(None))))


async def live_user_ids(source: MySQLSource) -> set[int]:
    """Every user not forgotten (one query): those the other stores hold a copy of."""
    statement = select(t.users.c.id).where(t.users.c.deleted_at.is_(None))
    rows = await guarded(source, bulk_bound(source, 120.0), _fetch(source.engine, statement), DRIVER_ERRORS)
    return {int(row[0]) for row in rows}


async def purchased_keys(source: MySQLSource) -> set[Key]:
    """(order_id, product_id) of every line of an order not cancelled, of a user not forgotten (one query)."""
    statement = _of_live_users(_purchased())
    return set(await guarded(source, bulk_bound(source, 120.0), _fetch(source.engine, statement), DRIVER_ERRORS))


async def purchased_quantities(source: MySQLSource) -> list[tuple[int, int]]:
    """(product_id, quantity) of every line of an order not cancelled (one query): the units metrics count."""
    found = await guarded(
        source, bulk_bound(source, 120.0), _fetch(source.engine, _purchased(t.order_items.c.quantity)), DRIVER_ERRORS
    )
    return [(product_id, quantity) for _, product_id, quantity in found]


async def purchased_rows(source: MySQLSource, keys: Sequence[Key]) -> list[Row]:
    """order_id, product_id, user_id, quantity, created_at (the order's) of these lines, if not cancelled."""
    if not keys:
        return []
    o = t.orders
    statement = _of_live_users(
        _purchased(o.c.user_id, t.order_items.c.quantity, o.c.created_at).where(
            _key_clause(t.order_items, ["order_id", "product_id"], keys)
        )
    )
    names = ("order_id", "product_id", "user_id", "quantity", "created_at")
    found = await guarded(source, bulk_bound(source, 120.0), _fetch(source.engine, statement), DRIVER_ERRORS)
    return [dict(zip(names, row, strict=True)) for row in found]


async def sync_counts(source: MySQLSource, timeout: float) -> tuple[int, int, int]:
    """Users (not forgotten), products, and the rows that stand for graph edges (ratings, product categories,
    category parents, lines of orders not cancelled of users not forgotten), in one query."""

    def counted(statement: Any) -> Any:
        return select(func.count()).select_from(statement.subquery()).scalar_subquery()

    statement = select(
        counted(select(t.users.c.id).where(t.users.c.deleted_at.is_(None))),
        counted(select(t.products.c.id)),
        counted(select(t.ratings.c.user_id))
        + counted(select(t.product_categories.c.product_id))
        + counted(select(t.categories.c.id).where(t.categories.c.parent_id.is_not(None)))
        + counted(_of_live_users(_purchased())),
    )
    ((users, products, edges),) = await guarded(source, timeout, _fetch(source.engine, statement), DRIVER_ERRORS)
    return int(users), int(products), int(edges)
