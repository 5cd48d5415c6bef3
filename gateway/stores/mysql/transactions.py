"""MySQL write transactions: ``transaction()`` runs one unit of work in one transaction, run again on deadlock and
lock wait timeout (retry.py); ``now()`` is the naive UTC time the tables store."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.stores.guard import guarded
from gateway.stores.mysql.client import DRIVER_ERRORS, MySQLSource
from gateway.stores.mysql.retry import retried

T = TypeVar("T")


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


async def transaction(
    source: MySQLSource,
    timeout: float,
    operation: str,
    keys: Sequence[Any],
    work: Callable[[AsyncConnection], Awaitable[T]],
) -> T:
    """Run ``work`` in one transaction; retried on deadlock and lock wait timeout, a gateway error rolls back."""

    async def run() -> T:
        async with source.engine.begin() as conn:
            return await work(conn)

    return await guarded(source, timeout, retried(run), DRIVER_ERRORS, operation=operation, keys=keys)
