"""Batched MySQL reads and writes by shared key, for seeding and reconciling (one statement per chunk)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.sources.base import guarded
from gateway.sources.mysql import DRIVER_ERRORS, MySQLSource

__all__ = ["Table", "columns", "count", "insert_missing", "key_set"]

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
    return await guarded(source.name, 60.0, _insert_missing(source.engine, table, rows, key), DRIVER_ERRORS)


async def _fetch(engine: AsyncEngine, statement: Any) -> list[tuple[Any, ...]]:
    async with engine.connect() as conn:
        return [tuple(row) for row in await conn.execute(statement)]


async def key_set(source: MySQLSource, table: Table, key: Sequence[str]) -> set[Key]:
    """Every key of ``table`` (one query)."""
    statement = select(*(table.c[name] for name in key))
    return set(await guarded(source.name, 120.0, _fetch(source.engine, statement), DRIVER_ERRORS))


async def count(source: MySQLSource, table: Table) -> int:
    rows = await guarded(
        source.name, 60.0, _fetch(source.engine, select(func.count()).select_from(table)), DRIVER_ERRORS
    )
    return int(rows[0][0])


async def columns(source: MySQLSource, table: Table, names: Sequence[str]) -> list[tuple[Any, ...]]:
    """These columns of every row of ``table`` (one query)."""
    statement = select(*(table.c[name] for name in names))
    return await guarded(source.name, 120.0, _fetch(source.engine, statement), DRIVER_ERRORS)
